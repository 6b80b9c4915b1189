/** Single-quotes a word for /bin/sh unless it is plainly safe, so `numpy>=1.26` or `a b` reach the tool intact. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9._\-+=:/@]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
