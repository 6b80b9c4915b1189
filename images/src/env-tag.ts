import { createHash } from 'node:crypto';
import type { EnvironmentSpec } from '@katapult/core';
import { RECIPE_VERSION } from './recipes/dockerfile.js';

const sha256 = (data: Uint8Array | string) => createHash('sha256').update(data).digest('hex');

/**
 * The content address of an environment image: everything that decides what the image contains, and nothing
 * else. The environment's name is left out, so teammates who name the same environment differently share one
 * image. Package sets whose order does not matter (apt, pip, julia) are sorted; conda channels are not, since
 * their order is conda's priority.
 */
export function environmentTag(input: { env: EnvironmentSpec; baseImageDigest: string; files: Record<string, Uint8Array | string> }): string {
  const { env } = input;
  const canonical = {
    recipe: RECIPE_VERSION,
    base: input.baseImageDigest,
    aptget: [...env.aptget].sort(),
    conda: [...env.conda].sort(),
    condaChannels: env.condaChannels,
    pypi: [...env.pypi].sort(),
    julia: [...env.julia].sort(),
    command: env.command,
    files: Object.fromEntries(Object.keys(input.files).sort().map((path) => [path, sha256(input.files[path]!)])),
  };
  return sha256(JSON.stringify(canonical)).slice(0, 24);
}
