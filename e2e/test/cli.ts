import { execFile } from 'node:child_process';
import { join } from 'node:path';

export const REPO_ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(REPO_ROOT, 'cli', 'bin', 'run.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the built `katapult` CLI as a user would, from the repository root (or from `cwd`). */
export function katapult(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 600_000, cwd = REPO_ROOT): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { cwd, env: { ...process.env, ...env }, timeout: timeoutMs, maxBuffer: 64 << 20 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** The peak resident memory of a command, read by /usr/bin/time (the kernel's own count, however briefly it peaked). */
export interface MeasuredCliResult extends CliResult {
  peakRssBytes: number;
}

const PEAK_MARK = 'KP_PEAK_RSS_KB';

/** Runs the built CLI as katapult() does, under /usr/bin/time, which reports its peak RSS (taken off stderr). */
export async function katapultMeasured(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 600_000): Promise<MeasuredCliResult> {
  const result = await new Promise<CliResult>((resolve) => {
    execFile(
      '/usr/bin/time',
      ['-f', `${PEAK_MARK} %M`, process.execPath, BIN, ...args],
      { cwd: REPO_ROOT, env: { ...process.env, ...env }, timeout: timeoutMs, maxBuffer: 64 << 20 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
  const mark = new RegExp(`^${PEAK_MARK} (\\d+)\\n`, 'm');
  const peak = mark.exec(result.stderr);
  if (!peak) throw new Error(`/usr/bin/time reported no peak RSS for katapult ${args.join(' ')}: ${result.stderr.slice(-500)}`);
  // time says "Command exited with non-zero status N" too; neither line is the CLI's.
  const stderr = result.stderr.replace(mark, '').replace(/^Command exited with non-zero status \d+\n/m, '');
  return { ...result, stderr, peakRssBytes: Number(peak[1]) * 1024 };
}
