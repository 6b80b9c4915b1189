import { renameSync, writeFileSync } from 'node:fs';

/**
 * Writes a state file whole or not at all: into a file beside it, then renamed over it. Commands run at once
 * (twenty `launch --detach` side by side) read these files while another writes them; a reader sees the old
 * content or the new, never half of it.
 */
export function writeFileAtomic(path: string, content: string, mode = 0o600): void {
  const temporary = `${path}.${process.pid}.${Date.now().toString(36)}.tmp`;
  writeFileSync(temporary, content, { mode });
  renameSync(temporary, path);
}
