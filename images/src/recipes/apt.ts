import type { Fragment } from './fragment.js';
import type { EnvironmentRecipe } from './normalize.js';
import { aptInstall } from './shell.js';

/** Debian packages, first: they change least often, and the later steps may build on them. */
export function aptFragment(env: EnvironmentRecipe): Fragment | undefined {
  if (env.aptget.length === 0) return undefined;
  return { description: `apt-get install ${env.aptget.join(' ')}`, lines: [`RUN ${aptInstall(env.aptget)}`] };
}
