import { shellQuote } from './shell.js';

export const JULIA_VERSION = '1.10.4';
const JULIA_URL = `https://julialang-s3.julialang.org/bin/linux/x64/1.10/julia-${JULIA_VERSION}-linux-x86_64.tar.gz`;

/** A pinned Julia release, then the packages added and precompiled into a depot inside the image. */
export function juliaLayer(packages: readonly string[]): string[] {
  if (packages.length === 0) return [];
  const names = [...new Set(packages)].sort().map((name) => JSON.stringify(name)).join(', ');
  return [
    'RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates curl && rm -rf /var/lib/apt/lists/* \\',
    `    && mkdir -p /opt/julia && curl -fsSL ${JULIA_URL} | tar -xz -C /opt/julia --strip-components=1 \\`,
    '    && ln -s /opt/julia/bin/julia /usr/local/bin/julia',
    'ENV JULIA_DEPOT_PATH=/opt/julia-depot',
    `RUN julia -e ${shellQuote(`using Pkg; Pkg.add([${names}]); Pkg.precompile()`)}`,
  ];
}
