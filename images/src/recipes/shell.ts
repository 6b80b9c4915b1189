import { shellQuote } from '@katapult/core';

export { shellQuote };

/** Where referenced files are copied inside the image; they are only read there while building. */
export const STAGING_DIR = '/tmp/katapult';

export function stagedPath(path: string): string {
  return `${STAGING_DIR}/${path.split('/').at(-1) ?? path}`;
}

/** Debian packages in one RUN that leaves no apt lists behind in the layer. */
export function aptInstall(packages: readonly string[]): string {
  const names = packages.map(shellQuote).join(' ');
  return `apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${names} && rm -rf /var/lib/apt/lists/*`;
}

/** The plain form would split a path with whitespace or quotes into several; the JSON form does not. */
export function copyInstruction(source: string, destination: string): string {
  return /[\s"'\\]/.test(source + destination) ? `COPY ${JSON.stringify([source, destination])}` : `COPY ${source} ${destination}`;
}

/**
 * Shell form when the command fits on one line. A line break (a YAML block scalar) or a trailing backslash would
 * end or continue the Dockerfile instruction, so such a command goes through sh in the exec form instead.
 */
export function runInstruction(command: string): string {
  if (/[\r\n]/.test(command) || command.trimEnd().endsWith('\\')) return `RUN ${JSON.stringify(['/bin/sh', '-c', command])}`;
  return `RUN ${command}`;
}
