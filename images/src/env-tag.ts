import { createHash } from 'node:crypto';
import type { EnvironmentSpec } from '@katapult/core';
import { RECIPE_VERSION } from './recipes/dockerfile.js';
import { normalizeEnvironment } from './recipes/normalize.js';

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

const sha256 = (data: Uint8Array | string) => createHash('sha256').update(data).digest('hex');

/** JSON with every object's keys sorted, so the same value always gives the same text. */
function canonicalJson(value: Json): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  return `{${Object.keys(value)
    .sort()
    .map((key) => `${JSON.stringify(key)}:${canonicalJson(value[key] ?? null)}`)
    .join(',')}}`;
}

/**
 * The content address of an environment image: everything that decides what it contains, and nothing else.
 * The name is left out, so teammates who name the same environment differently share one image. The spec is
 * taken in the canonical form the Dockerfile is generated from (see normalizeEnvironment): apt, conda, pip and
 * julia lists are sorted, conda channels keep their order since it is conda's priority. Build args such as
 * PIP_INDEX_URL are left out: the same requirements give the same image whichever index served them.
 */
export function environmentTag(input: {
  env: EnvironmentSpec;
  baseImageDigest: string;
  files: Record<string, Uint8Array | string>;
}): string {
  const files = Object.fromEntries(Object.entries(input.files).map(([path, contents]) => [path, sha256(contents)]));
  const canonical = { recipe: RECIPE_VERSION, env: normalizeEnvironment(input.env), base: input.baseImageDigest, files };
  return sha256(canonicalJson(canonical)).slice(0, 24);
}
