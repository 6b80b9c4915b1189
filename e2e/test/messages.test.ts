import { describe, expect, it } from 'vitest';
import { tempDir } from '@katapult/testkit';
import { katapult } from './cli.js';

/** The one-line messages a user meets most, from the built CLI, word for word. */
describe('message snapshots', () => {
  it('usage errors name the flag or argument and end with the usage line', async () => {
    const env = { KATAPULT_HOME: await tempDir('e2e-messages') };
    const tail = await katapult(['logs', '--tail', '-1'], env);
    expect(tail.code).toBe(2);
    expect(tail.stderr).toBe(
      'KP_USAGE --tail: Expected an integer greater than or equal to 0 but received: -1 — usage: katapult logs [JOB] [-f|--follow] [--run RUN] [--tail N] [--since DURATION]\n',
    );
    const prune = await katapult(['images', 'prune', '--dry-run'], env);
    expect(prune.code).toBe(2);
    expect(prune.stderr).toBe(
      'KP_USAGE Missing 1 required arg: configs (config files whose environments are kept) — usage: katapult images prune CONFIGS... [--dry-run]\n',
    );
  });
});
