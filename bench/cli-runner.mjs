// Shared by the end-to-end benchmarks: a private state folder and the real CLI run as a user would.
import { spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const REPO_ROOT = join(import.meta.dirname, '..');
export const BIN = join(REPO_ROOT, 'cli', 'bin', 'run.js');

/** A fresh KATAPULT_HOME (so its own stack) and functions that run commands with it. */
export async function privateStack(prefix) {
  const home = await mkdtemp(join(tmpdir(), prefix));
  const env = { ...process.env, KATAPULT_HOME: home };

  /** Runs a command to its end; resolves with its exit code, output and wall time (never rejects). */
  function exec(command, args, options = {}) {
    return new Promise((resolve) => {
      const started = performance.now();
      const child = spawn(command, args, { cwd: REPO_ROOT, env, ...options });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk) => (stdout += chunk));
      child.stderr.on('data', (chunk) => (stderr += chunk));
      child.on('error', (error) =>
        resolve({ code: -1, stdout, stderr: `${stderr}${error.message}`, seconds: (performance.now() - started) / 1000 }),
      );
      child.on('close', (code) => resolve({ code, stdout, stderr, seconds: (performance.now() - started) / 1000 }));
    });
  }
  const katapult = (args) => exec(process.execPath, [BIN, ...args]);
  return { home, env, exec, katapult };
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
