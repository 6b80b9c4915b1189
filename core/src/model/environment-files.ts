/** An env_pypi entry naming a requirements file rather than a requirement. */
export function isRequirementsFile(entry: string): boolean {
  return entry.endsWith('.txt');
}

/** An env_conda entry naming an environment file rather than a package. */
export function isCondaFile(entry: string): boolean {
  return entry.endsWith('.yml') || entry.endsWith('.yaml');
}

/** The setup command is a script to copy in when it is one word ending in .sh; anything else runs as typed. */
export function scriptPath(command: string | null): string | undefined {
  return command !== null && command.endsWith('.sh') && !/\s/.test(command) ? command : undefined;
}
