import { describe, expect, it } from 'vitest';
import Logs from '../src/commands/logs.js';
import ImagesPrune from '../src/commands/images/prune.js';
import { usageErrorLine, usageLine, type UsageShape } from '../src/render/usage-error.js';

const shape = (command: unknown) => command as UsageShape;

describe('usage errors', () => {
  it('name the flag, say why, and end with the usage line', () => {
    const message = 'Parsing --tail \n\tExpected an integer greater than or equal to 0 but received: -1\nSee more help with --help';
    expect(usageErrorLine(message, usageLine('katapult', 'logs', shape(Logs)))).toBe(
      'KP_USAGE --tail: Expected an integer greater than or equal to 0 but received: -1 — usage: katapult logs [JOB] [-f|--follow] [--run RUN] [--tail N] [--attempt N] [--since DURATION]',
    );
  });

  it('name the missing argument and its description', () => {
    const message = 'Missing 1 required arg:\nconfigs  config files whose environments are kept\nSee more help with --help';
    expect(usageErrorLine(message, usageLine('katapult', 'images:prune', shape(ImagesPrune)))).toBe(
      'KP_USAGE Missing 1 required arg: configs (config files whose environments are kept) — usage: katapult images prune CONFIGS... [--dry-run]',
    );
  });

  it('keep every error of a list on the one line', () => {
    const message =
      'The following errors occurred:\n  --detach=true cannot also be provided when using --wait\n  --wait=true cannot also be provided when using --detach\nSee more help with --help';
    expect(usageErrorLine(message, 'katapult launch FILE [--detach] [--wait]')).toBe(
      'KP_USAGE The following errors occurred: --detach=true cannot also be provided when using --wait; --wait=true cannot also be provided when using --detach — usage: katapult launch FILE [--detach] [--wait]',
    );
  });
});
