import type { Fragment } from './fragment.js';
import type { EnvironmentRecipe } from './normalize.js';
import { aptInstall, shellQuote } from './shell.js';

export const JULIA_VERSION = '1.10.4';
export const JULIA_PREFIX = '/opt/julia';
/** The depot packages are added and precompiled into while building; jobs read it (see userFragment). */
export const JULIA_DEPOT = '/opt/julia-depot';
const JULIA_URL = `https://julialang-s3.julialang.org/bin/linux/x64/1.10/julia-${JULIA_VERSION}-linux-x86_64.tar.gz`;

/** A Julia string literal: `$` would interpolate. */
const juliaString = (text: string) => JSON.stringify(text).replace(/\$/g, '\\$');

/** A pinned Julia release, then the packages added and precompiled into a depot inside the image. */
export function juliaFragment(env: EnvironmentRecipe): Fragment | undefined {
  if (env.julia.length === 0) return undefined;
  const script = `using Pkg; Pkg.add([${env.julia.map(juliaString).join(', ')}]); Pkg.precompile()`;
  return {
    description: `julia ${JULIA_VERSION} with ${env.julia.join(', ')}`,
    lines: [
      `RUN ${aptInstall(['ca-certificates', 'curl'])} \\`,
      `    && mkdir -p ${JULIA_PREFIX} && curl -fsSL ${JULIA_URL} | tar -xz --no-same-owner -C ${JULIA_PREFIX} --strip-components=1 \\`,
      `    && ln -s ${JULIA_PREFIX}/bin/julia /usr/local/bin/julia`,
      `ENV JULIA_DEPOT_PATH=${JULIA_DEPOT}`,
      `RUN julia -e ${shellQuote(script)}`,
    ],
  };
}
