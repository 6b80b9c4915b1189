import { readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';
import { ExitCode, KatapultError, type RunSpec } from '@katapult/core/light';

/**
 * The values of the secrets a run's jobs name: from `--secrets-file` (dotenv lines, `NAME=value`), else from
 * this process's environment. A name with neither is refused before anything is built, naming it; no error
 * ever quotes a value.
 */
export function resolveSecrets(spec: Pick<RunSpec, 'jobs'>, env: NodeJS.ProcessEnv, secretsFile?: string): Record<string, string> {
  const names = [...new Set(spec.jobs.flatMap((job) => job.secrets ?? []))].sort();
  const fromFile = secretsFile ? readSecretsFile(secretsFile) : {};
  const values: Record<string, string> = {};
  const missing: string[] = [];
  for (const name of names) {
    const value = Object.hasOwn(fromFile, name) ? fromFile[name] : env[name];
    if (value === undefined) missing.push(name);
    else values[name] = value;
  }
  if (missing.length > 0) {
    throw new KatapultError('KP_SECRET_MISSING', `no value for the secret${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`, {
      exitCode: ExitCode.badInput,
      hint: `set ${missing.length > 1 ? 'them' : 'it'} in this shell's environment${secretsFile ? ` or in ${secretsFile}` : ', or give a file of NAME=value lines with --secrets-file'}`,
    });
  }
  return values;
}

function readSecretsFile(file: string): Record<string, string> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const reason =
      (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : ((error as NodeJS.ErrnoException).code ?? 'unreadable');
    throw new KatapultError('KP_SECRETS_FILE', `--secrets-file ${file}: ${reason}`, { exitCode: ExitCode.badInput });
  }
  return parseEnv(text) as Record<string, string>;
}
