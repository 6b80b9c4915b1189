import { shellQuote } from './shell.js';

/** Debian packages, sorted so the same set gives the same layer. */
export function aptLayer(packages: readonly string[]): string[] {
  if (packages.length === 0) return [];
  const names = [...new Set(packages)].sort().map(shellQuote).join(' ');
  return [
    `RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${names} && rm -rf /var/lib/apt/lists/*`,
  ];
}
