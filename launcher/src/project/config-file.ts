import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname } from 'node:path';
import { ConfigError, ExitCode, jobFileReferences, KatapultError, loadConfig, type ConfigIssue, type RunSpec } from '@katapult/core';
import { findProjectFile } from '@katapult/images';

/** The original tool's config is Python: `config = {` (after comments and imports), or a .py file. */
const PYTHON_CONFIG = /^\s*(#.*\n|\s*\n|(import|from)\s.*\n)*\s*config\s*=\s*\{/;

function readText(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
    throw new KatapultError('KP_CONFIG_NOT_FOUND', `${file}: ${reason}`, { exitCode: ExitCode.badInput });
  }
  if (file.endsWith('.py') || PYTHON_CONFIG.test(text)) {
    throw new KatapultError('KP_CONFIG_PYTHON', `${file} is a Python config of the original tool; Katapult reads YAML or JSON`, {
      hint: `convert it: katapult import ${file}`,
      exitCode: ExitCode.badInput,
    });
  }
  return text;
}

function load(text: string, file: string): RunSpec {
  // Docker refuses a container more cpus than the machine has, so a local instance cannot offer more.
  return loadConfig(text, file, { defaultCpus: cpus().length, localCpuLimit: cpus().length });
}

/** Reads and validates a config file; a missing or unreadable file is bad input naming the file. */
export function readConfigFile(file: string): RunSpec {
  return load(readText(file), file);
}

/**
 * The config and the job files it names, every problem at once: schema and rule errors together with missing
 * files, folders, and paths escaping the project folder, each at the line and column of the key that names it.
 */
export async function checkConfigFile(file: string): Promise<RunSpec> {
  const text = readText(file);
  let spec: RunSpec | undefined;
  let issues: ConfigIssue[] = [];
  try {
    spec = load(text, file);
  } catch (error) {
    // A syntax error leaves no document to look for files in.
    if (!(error instanceof ConfigError) || error.code !== 'KP_CONFIG_INVALID') throw error;
    issues = [...error.issues];
  }
  const checked = new Set<string>();
  for (const reference of jobFileReferences(text, file)) {
    // A file named by many jobs (or by a repeated job) is one problem, at its first mention.
    if (checked.has(reference.path)) continue;
    checked.add(reference.path);
    const found = await findProjectFile(dirname(file), reference.path);
    if ('code' in found) issues.push({ code: found.code, path: reference.field, message: found.message, ...position(reference) });
  }
  if (issues.length > 0 || !spec) {
    throw new ConfigError(
      file,
      issues.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.col ?? 0) - (b.col ?? 0)),
    );
  }
  return spec;
}

function position(reference: { line?: number; col?: number }): Pick<ConfigIssue, 'line' | 'col'> {
  return reference.line === undefined ? {} : { line: reference.line, ...(reference.col === undefined ? {} : { col: reference.col }) };
}
