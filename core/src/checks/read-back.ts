import type { Static, TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import { KatapultError } from '../errors.js';
import type { ErrorCode } from '../errors/catalogue.js';

/**
 * What Katapult reads back from its own files, KV buckets and HTTP answers is checked against a schema before it
 * is trusted: a file edited by hand, a record written by an older version or a proxy's error page then reads as one
 * line naming the place and the first wrong field, not as a TypeError three calls later.
 */
export interface ReadBack<T> {
  /** The value when it matches, else a KatapultError of `code`: "<where>: <field> <what is wrong>". */
  (value: unknown, where: string): T;
  /** The first problem of a value that does not match ("nats.port must be a number"), undefined when it matches. */
  problem(value: unknown): string | undefined;
}

export interface ReadBackOptions {
  hint?: string;
}

export function readBack<S extends TSchema>(schema: S, code: ErrorCode, options: ReadBackOptions = {}): ReadBack<Static<S>> {
  // Compiled on first use, once: checks on the coordinator's hot path (every KV record it watches) cost a call.
  let compiled: { Check(value: unknown): boolean; Errors(value: unknown): SchemaError[] } | undefined;
  const validator = () =>
    (compiled ??= Compile(schema) as unknown as { Check(value: unknown): boolean; Errors(value: unknown): SchemaError[] });
  const problem = (value: unknown): string | undefined => {
    if (validator().Check(value)) return undefined;
    const errors = validator().Errors(value);
    const first = errors[0];
    if (!first) return 'the whole value is malformed';
    // A union's branches each fail on their own: "must be a null or a string", not the first branch's complaint.
    const here = errors.filter((error) => error.instancePath === first.instancePath);
    if (here.some((error) => error.keyword === 'anyOf')) {
      const field = fieldName(first.instancePath) || 'the whole value';
      const constants = here.filter((error) => error.keyword === 'const').map((error) => JSON.stringify(error.params['allowedValue']));
      if (constants.length > 1)
        return `${field} must be one of ${constants.join(', ')}, got ${JSON.stringify(at(value, first.instancePath))}`;
      const types = here.filter((error) => error.keyword === 'type').map((error) => article(String(error.params['type'])));
      if (types.length > 1) return `${field} must be ${types.join(' or ')}`;
    }
    return describe(first);
  };
  const check = (value: unknown, where: string): Static<S> => {
    const found = problem(value);
    if (found === undefined) return value as Static<S>;
    throw new KatapultError(code, oneLine(`${where}: ${found}`), options.hint ? { hint: options.hint } : {});
  };
  return Object.assign(check, { problem });
}

/** JSON text read back: "not JSON" is its first problem. */
export function parseJsonText(text: string, where: string, code: ErrorCode, options: ReadBackOptions = {}): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new KatapultError(code, oneLine(`${where}: not JSON`), options.hint ? { hint: options.hint } : {});
  }
}

interface SchemaError {
  keyword: string;
  instancePath: string;
  params: Readonly<Record<string, unknown>>;
  message: string;
}

const ARTICLES: Record<string, string> = { integer: 'an integer', object: 'an object', array: 'an array' };

/** `/nats/port` `must be number` reads "nats.port must be a number"; a missing field is named as such. */
function describe(error: SchemaError): string {
  const path = fieldName(error.instancePath);
  if (error.keyword === 'required') {
    const missing = error.params['requiredProperties'];
    const name = Array.isArray(missing) && missing.length > 0 ? String(missing[0]) : undefined;
    return `${name === undefined ? path || 'a field' : path ? `${path}.${name}` : name} is missing`;
  }
  if (error.keyword === 'type' && typeof error.params['type'] === 'string') {
    return `${path || 'the whole value'} must be ${article(String(error.params['type']))}`;
  }
  return `${path || 'the whole value'} ${error.message}`;
}

/** The value a JSON pointer (`/nats/port`) names in `root`, or undefined. */
function at(root: unknown, pointer: string): unknown {
  let current = root;
  for (const raw of pointer.split('/').slice(1)) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[raw.replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  return current;
}

function article(type: string): string {
  return ARTICLES[type] ?? `a ${type}`;
}

function fieldName(instancePath: string): string {
  return instancePath
    .split('/')
    .slice(1)
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .join('.');
}

function oneLine(text: string): string {
  const flat = text.replace(/[\u0000-\u001f\u007f\u2028\u2029]+/g, ' ');
  return flat.length > 300 ? `${flat.slice(0, 297)}...` : flat;
}
