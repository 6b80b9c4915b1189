import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeFileAtomic } from '../../src/state/atomic-file.js';

describe('state files', () => {
  it('are replaced whole by a rename, 0600, with nothing left beside them', () => {
    const dir = mkdtempSync(join(tmpdir(), 'katapult-atomic-'));
    const file = join(dir, 'stack.json');
    writeFileSync(file, '{"old": true}\n');
    const before = statSync(file).ino;
    writeFileAtomic(file, '{"new": true}\n');
    // A reader that opened the old file keeps reading the old content; the name points at a new, complete one.
    expect(statSync(file).ino).not.toBe(before);
    expect(readFileSync(file, 'utf8')).toBe('{"new": true}\n');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir)).toEqual(['stack.json']);
    rmSync(dir, { recursive: true });
  });
});
