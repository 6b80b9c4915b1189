/** What a command declares, as oclif keeps it on the command class: enough to write its usage line. */
export interface UsageShape {
  args?: Record<string, { required?: boolean; hidden?: boolean }>;
  flags?: Record<
    string,
    { type: 'boolean' | 'option'; char?: string; hidden?: boolean; helpValue?: string | string[]; required?: boolean }
  >;
  strict?: boolean;
}

/** `katapult logs [JOB] [-f|--follow] [--tail <value>]`: the command's arguments and flags, as --help shows them. */
export function usageLine(bin: string, commandId: string, shape: UsageShape): string {
  const args = Object.entries(shape.args ?? {})
    .filter(([, arg]) => !arg.hidden)
    .map(([name, arg]) => {
      const shown = `${name.toUpperCase()}${shape.strict === false ? '...' : ''}`;
      return arg.required ? shown : `[${shown}]`;
    });
  const flags = Object.entries(shape.flags ?? {})
    .filter(([name, flag]) => !flag.hidden && name !== 'json')
    .map(([name, flag]) => {
      const names = flag.char ? `-${flag.char}|--${name}` : `--${name}`;
      const value = flag.type === 'option' ? ` ${[flag.helpValue ?? '<value>'].flat().join('|')}` : '';
      return flag.required ? `${names}${value}` : `[${names}${value}]`;
    });
  const json = shape.flags?.['json'] ? ['[--json]'] : [];
  return [bin, commandId.replaceAll(':', ' '), ...args, ...flags, ...json].join(' ');
}

/**
 * oclif's parse errors span several lines (what failed, then why, then a pointer to --help); ours are one line.
 * Keeps every line but the pointer, so the flag or argument and the reason both show, then the usage line.
 */
export function usageErrorLine(message: string, usage: string): string {
  const lines = message
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.length > 0 && !/^See more help with/.test(line))
    // "Missing 1 required arg:\nconfigs  config files ..." lists the argument beside its description.
    .map((line) => line.replace(/^Parsing (--\S+)$/, '$1:').replace(/^(\S+)\s{2,}(.+)$/, '$1 ($2)'));
  const text = lines.reduce((joined, line) => (joined === '' ? line : `${joined}${/:$/.test(joined) ? ' ' : '; '}${line}`), '');
  return `KP_USAGE ${text.replace(/:\s*;/g, ':')} — usage: ${usage}`;
}
