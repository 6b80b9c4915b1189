import type { Fragment } from './fragment.js';
import { scriptPath } from './forms.js';
import type { EnvironmentRecipe } from './normalize.js';
import { copyInstruction, runInstruction, STAGING_DIR } from './shell.js';

/**
 * The setup command comes last, so changing it rebuilds nothing below it. A script runs under bash, which the
 * base image has, since setup scripts are commonly written for it rather than for dash.
 */
export function commandFragment(env: EnvironmentRecipe): Fragment | undefined {
  if (env.command === null) return undefined;
  const script = scriptPath(env.command);
  if (script) {
    return {
      description: `setup script ${script}`,
      lines: [copyInstruction(script, `${STAGING_DIR}/setup.sh`), `RUN bash ${STAGING_DIR}/setup.sh`],
    };
  }
  const firstLine = env.command.trim().split(/\r?\n/)[0] ?? '';
  return { description: `setup command ${firstLine}${firstLine === env.command.trim() ? '' : ' …'}`, lines: [runInstruction(env.command)] };
}
