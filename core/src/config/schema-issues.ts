import Value from 'typebox/value';
import type { TSchema } from 'typebox';
import type { ConfigIssue } from '../errors.js';
import { formatPath, type FieldPath, type ParsedConfig } from './parse.js';

interface JsonSchema {
  type?: string;
  const?: unknown;
  anyOf?: JsonSchema[];
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  pattern?: string;
  minItems?: number;
  minLength?: number;
}

/**
 * Turns the schema library's raw errors into one issue per field. A union (`string | list | null`) fails with
 * one error per branch; the user wants a single "must be a string or a list of strings", so errors under a
 * failing union are folded into a description of what the union accepts.
 */
export function schemaIssues(schema: TSchema, parsed: ParsedConfig): ConfigIssue[] {
  const errors = [...Value.Errors(schema, parsed.value)];
  // A union whose value is a list or mapping matching one branch (a nullable list, say) is not folded:
  // the problems inside that list are the ones to report.
  const unionPaths = new Set(
    errors
      .filter((e) => e.keyword === 'anyOf')
      .map((e) => e.instancePath)
      .filter((path) => !containerBranchMatches(schemaAt(schema as JsonSchema, toSegments(path)), valueAt(parsed.value, toSegments(path)))),
  );
  const resolvedUnions = new Set(errors.filter((e) => e.keyword === 'anyOf' && !unionPaths.has(e.instancePath)).map((e) => e.instancePath));
  const outermostUnions = [...unionPaths].filter(
    (path) => ![...unionPaths].some((other) => other !== path && path.startsWith(`${other}/`)),
  );
  const issues = new Map<string, ConfigIssue>();
  const add = (path: FieldPath, message: string) => {
    const key = formatPath(path);
    if (!issues.has(key)) issues.set(key, { path: key, message, ...parsed.locate(path) });
  };

  for (const unionPath of outermostUnions) {
    const path = toSegments(unionPath);
    add(path, `must be ${describe(schemaAt(schema, path))}`);
  }
  for (const error of errors) {
    const inUnion = outermostUnions.some((u) => error.instancePath === u || error.instancePath.startsWith(`${u}/`));
    if (inUnion || error.keyword === 'anyOf' || error.keyword === 'boolean') continue;
    // The other branches of a resolved union ("must be null", "must be string") are not the problem.
    if (resolvedUnions.has(error.instancePath) && (error.keyword === 'type' || error.keyword === 'const')) continue;
    const path = toSegments(error.instancePath);
    const params = error.params as Record<string, unknown>;
    if (error.keyword === 'additionalProperties') {
      const parent = schemaAt(schema, path);
      for (const key of (params['additionalProperties'] as string[] | undefined) ?? []) {
        const suggestion = closest(key, Object.keys(parent?.properties ?? {}));
        add([...path, key], suggestion ? `unknown key, did you mean ${suggestion}?` : 'unknown key');
      }
    } else if (error.keyword === 'required') {
      for (const key of (params['requiredProperties'] as string[] | undefined) ?? []) add([...path, key], 'is required');
    } else {
      add(path, `must be ${describe(schemaAt(schema, path))}`);
    }
  }
  return [...issues.values()];
}

function toSegments(instancePath: string): (string | number)[] {
  if (instancePath === '') return [];
  return instancePath
    .slice(1)
    .split('/')
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((part) => (/^\d+$/.test(part) ? Number(part) : part));
}

function valueAt(value: unknown, path: FieldPath): unknown {
  let current = value;
  for (const segment of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string | number, unknown>)[segment];
  }
  return current;
}

function containerBranchMatches(schema: JsonSchema | undefined, value: unknown): boolean {
  const kind = Array.isArray(value) ? 'array' : value !== null && typeof value === 'object' ? 'object' : undefined;
  return kind !== undefined && flattenUnion(schema).some((branch) => branch.type === kind);
}

function flattenUnion(schema: JsonSchema | undefined): JsonSchema[] {
  if (!schema) return [];
  return schema.anyOf ? schema.anyOf.flatMap(flattenUnion) : [schema];
}

function schemaAt(schema: JsonSchema | undefined, path: FieldPath): JsonSchema | undefined {
  let current = schema;
  for (const segment of path) {
    current = stripNull(current);
    if (!current) return undefined;
    if (current.anyOf) {
      current = current.anyOf.map((branch) => schemaAt(branch, [segment])).find((found) => found !== undefined);
    } else if (typeof segment === 'number') {
      current = current.items;
    } else {
      current = current.properties?.[segment];
    }
  }
  return current;
}

function stripNull(schema: JsonSchema | undefined): JsonSchema | undefined {
  if (!schema?.anyOf) return schema;
  const branches = schema.anyOf.filter((branch) => branch.type !== 'null');
  return branches.length === 1 ? branches[0] : { anyOf: branches };
}

function describe(schema: JsonSchema | undefined): string {
  const s = stripNull(schema);
  if (!s) return 'valid here';
  if (s.anyOf) {
    if (s.anyOf.every((branch) => branch.const !== undefined)) {
      return `one of ${s.anyOf.map((branch) => String(branch.const)).join(', ')}`;
    }
    return s.anyOf.map(describe).join(' or ');
  }
  if (s.const !== undefined) return String(s.const);
  switch (s.type) {
    case 'integer':
    case 'number': {
      const noun = s.type === 'integer' ? 'an integer' : 'a number';
      const bounds = [
        s.minimum === undefined ? '' : `>= ${s.minimum}`,
        s.exclusiveMinimum === undefined ? '' : `> ${s.exclusiveMinimum}`,
        s.maximum === undefined ? '' : `<= ${s.maximum}`,
      ].filter(Boolean);
      return bounds.length ? `${noun} ${bounds.join(' and ')}` : noun;
    }
    case 'string':
      return s.pattern ? 'a name of letters, digits, "-" and "_" (starting with a letter or digit)' : 'a non-empty string';
    case 'boolean':
      return 'true or false';
    case 'array':
      return s.minItems
        ? `a list of ${plural(describe(s.items))} with at least ${s.minItems} item`
        : `a list of ${plural(describe(s.items))}`;
    case 'object':
      return 'a mapping of keys to values';
    default:
      return 'valid here';
  }
}

function plural(description: string): string {
  if (description === 'a non-empty string') return 'strings';
  if (description === 'a mapping of keys to values') return 'mappings';
  return description.replace(/^an? /, '') + 's';
}

/** Damerau-free Levenshtein; suggests a key only when it is plausibly a typo. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: { candidate: string; distance: number } | undefined;
  for (const candidate of candidates) {
    const distance = levenshtein(word, candidate);
    if (!best || distance < best.distance) best = { candidate, distance };
  }
  return best && best.distance <= Math.max(2, Math.floor(word.length / 3)) ? best.candidate : undefined;
}

function levenshtein(a: string, b: string): number {
  const previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = previous[0]!;
    previous[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = previous[j]!;
      previous[j] = Math.min(above + 1, previous[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return previous[b.length]!;
}
