import { spawn } from 'node:child_process';

export interface CommandFailure {
  exitCode: number | null;
  /** The last lines of combined output, for error messages. */
  tail: string;
  spawnError?: Error;
}

/** Runs a command to completion; resolves with its exit status and the tail of its output. */
export function runCommand(command: string, args: readonly string[], onLine?: (line: string) => void): Promise<CommandFailure> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: string[] = [];
    const collect = (chunk: Buffer): void => {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line.trim().length === 0) continue;
        lines.push(line);
        onLine?.(line);
      }
      if (lines.length > 20) lines.splice(0, lines.length - 20);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.once('error', (spawnError) => resolve({ exitCode: null, tail: lines.join('\n'), spawnError }));
    child.once('close', (exitCode) => resolve({ exitCode, tail: lines.join('\n') }));
  });
}
