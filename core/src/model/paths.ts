/**
 * A file named in a config must stay inside the project folder: no absolute path, no `..` climbing out.
 * Returns what is wrong, or undefined when the path is fine. (Symlinks are checked at the I/O edge.)
 */
export function checkRelativePath(path: string): string | undefined {
  if (path.includes('\0')) return 'must not contain a NUL byte';
  if (path.startsWith('/') || /^[a-zA-Z]:[\\/]/.test(path)) return `"${path}" is absolute; use a path inside the project folder`;
  const segments = path.split(/[\\/]+/);
  let depth = 0;
  for (const segment of segments) {
    if (segment === '..') depth -= 1;
    else if (segment !== '.' && segment !== '') depth += 1;
    if (depth < 0) return `"${path}" escapes the project folder`;
  }
  return undefined;
}
