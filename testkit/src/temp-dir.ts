import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Creates a fresh directory under the OS temp dir, e.g. /tmp/katapult-nats-AbC123. */
export async function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `katapult-${prefix}-`));
}
