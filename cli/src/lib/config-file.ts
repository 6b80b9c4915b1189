import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { ExitCode, KatapultError, loadConfig, type RunSpec } from '@katapult/core';

/** Reads and validates a config file; a missing or unreadable file is bad input naming the file. */
export function readConfigFile(file: string): RunSpec {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
    throw new KatapultError('KP_CONFIG_NOT_FOUND', `${file}: ${reason}`, { exitCode: ExitCode.badInput });
  }
    // Docker refuses a container more cpus than the machine has, so a local instance cannot offer more.
  return loadConfig(text, file, { defaultCpus: cpus().length, localCpuLimit: cpus().length });
}
