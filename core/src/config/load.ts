import { ConfigError } from '../errors.js';
import type { RunSpec } from '../model/run-spec.js';
import { normalizeConfig, type NormalizeOptions } from './normalize.js';
import { parseConfigText } from './parse.js';
import { crossFieldIssues } from './rules.js';
import { ConfigSchema, type RawConfig } from './schema.js';
import { schemaIssues } from './schema-issues.js';

/** parse -> schema -> cross-field rules -> defaults. Throws a ConfigError listing every problem found. */
export function loadConfig(text: string, file: string, options: NormalizeOptions): RunSpec {
  const parsed = parseConfigText(text, file);
  if (parsed.value === null || typeof parsed.value !== 'object' || Array.isArray(parsed.value)) {
    throw new ConfigError(file, [{ path: '', message: 'must be a mapping with at least a "jobs" key', line: 1, col: 1 }]);
  }
  const shapeIssues = schemaIssues(ConfigSchema, parsed);
  if (shapeIssues.length > 0) throw new ConfigError(file, sortIssues(shapeIssues));
  const raw = parsed.value as RawConfig;
  const ruleIssues = crossFieldIssues(raw, parsed, options);
  if (ruleIssues.length > 0) throw new ConfigError(file, sortIssues(ruleIssues));
  return normalizeConfig(raw, options);
}

function sortIssues<T extends { line?: number; col?: number }>(issues: T[]): T[] {
  return [...issues].sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.col ?? 0) - (b.col ?? 0));
}
