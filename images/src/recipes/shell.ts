/** Single-quotes a word for /bin/sh, so pip specifiers such as `numpy>=1.26` reach the tool intact. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9._\-+=:/@]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

export const STAGING_DIR = '/tmp/katapult';

export function isRequirementsFile(entry: string): boolean {
  return entry.endsWith('.txt');
}

export function isCondaFile(entry: string): boolean {
  return entry.endsWith('.yml') || entry.endsWith('.yaml');
}

export function isScript(command: string): boolean {
  return command.endsWith('.sh') && !/\s/.test(command);
}

export function basename(path: string): string {
  return path.split('/').at(-1) ?? path;
}
