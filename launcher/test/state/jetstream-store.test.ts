import { mkdirSync, mkdtempSync, readFileSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultStreamBudget, maxFileStoreOf } from '@katapult/core/light';
import { ensureNatsAuth, keptMaxFileStore, streamBudgetOf, writeNatsServerConfig } from '../../src/state/nats-auth.js';
import { StateFolder } from '../../src/state/state-folder.js';

describe("the stack's JetStream store size", () => {
  const operatorBudget = process.env['KATAPULT_STREAM_MAX_BYTES'];
  const dirs: string[] = [];
  const stateDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'katapult-js-store-'));
    dirs.push(dir);
    return dir;
  };
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
    if (operatorBudget === undefined) delete process.env['KATAPULT_STREAM_MAX_BYTES'];
    else process.env['KATAPULT_STREAM_MAX_BYTES'] = operatorBudget;
  });
  const write = (dir: string) => {
    const state = new StateFolder(dir);
    return readFileSync(writeNatsServerConfig(state, { port: 4222, cluster: 'local', auth: ensureNatsAuth(state) }), 'utf8');
  };

  it('is three quarters of the free space when the stack is first set up, and kept in nats.conf and beside the data', async () => {
    delete process.env['KATAPULT_STREAM_MAX_BYTES'];
    const dir = stateDir();
    const stats = statfsSync(dir);
    const chosen = maxFileStoreOf(write(dir))!;
    expect(chosen / (stats.bavail * stats.bsize)).toBeCloseTo(0.75, 1);
    expect(keptMaxFileStore(new StateFolder(dir))).toBe(chosen);
    expect(readFileSync(join(dir, 'nats', 'max-file-store'), 'utf8')).toBe(`${chosen}\n`);
    expect(streamBudgetOf(new StateFolder(dir), {})).toBe(defaultStreamBudget(chosen));
  });

  it('stays what was kept when the stack starts again, whatever the disk has free now', async () => {
    delete process.env['KATAPULT_STREAM_MAX_BYTES'];
    const dir = stateDir();
    mkdirSync(join(dir, 'nats'));
    writeFileSync(join(dir, 'nats', 'max-file-store'), '123456789\n');
    expect(maxFileStoreOf(write(dir))).toBe(123_456_789);
    expect(maxFileStoreOf(write(dir))).toBe(123_456_789);
  });

  it("grows to hold the operator's KATAPULT_STREAM_MAX_BYTES, which is the coordinator's budget; a bad one is named", async () => {
    const dir = stateDir();
    mkdirSync(join(dir, 'nats'));
    writeFileSync(join(dir, 'nats', 'max-file-store'), '100000000\n');
    process.env['KATAPULT_STREAM_MAX_BYTES'] = '400000000';
    expect(maxFileStoreOf(write(dir))).toBe(500_000_000);
    expect(streamBudgetOf(new StateFolder(dir))).toBe(400_000_000);
    process.env['KATAPULT_STREAM_MAX_BYTES'] = 'lots';
    expect(() => write(dir)).toThrow(
      expect.objectContaining({ code: 'KP_STACK_CONFIG', message: expect.stringContaining('KATAPULT_STREAM_MAX_BYTES') }),
    );
  });
});
