import { createRequire } from 'node:module';
import type * as Checks from '@katapult/core/checks';

// The checks of what is read back load typebox, which a quick command has no use for until it has a file or an answer
// to check (e2e/test/cli-start.test.ts: `status` with no stack loads none of it): loaded then, synchronously, as the
// state folder's readers are.
const load = createRequire(import.meta.url);
let checks: typeof Checks | undefined;

export function coreChecks(): typeof Checks {
  return (checks ??= load('@katapult/core/checks') as typeof Checks);
}
