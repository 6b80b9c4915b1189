import { ERROR_CATALOGUE, type ErrorCode } from './catalogue.js';

const EXIT_MEANING: Record<number, string> = { 1: 'a job failed', 2: 'bad input', 3: 'infrastructure' };

/** docs/ERRORS.md, generated from the catalogue so that the two cannot disagree (pnpm run docs:errors). */
export function renderErrorsDoc(): string {
  const rows = (Object.keys(ERROR_CATALOGUE) as ErrorCode[]).sort().map((code) => {
    const { exitCode, httpStatus, meaning } = ERROR_CATALOGUE[code];
    return `| \`${code}\` | ${exitCode} (${EXIT_MEANING[exitCode]}) | ${httpStatus} | ${meaning.replace(/\|/g, '\\|')} |`;
  });
  return [
    '# Error codes',
    '',
    '<!-- Generated from core/src/errors/catalogue.ts by `pnpm run docs:errors`; edit the catalogue, not this file. -->',
    '',
    'Every error Katapult raises on purpose is one line that starts with a stable code. The CLI ends with the',
    "code's exit code (0 ok, 1 a job failed, 2 bad input, 3 infrastructure) unless the line says otherwise, and the",
    "coordinator's API answers with the code's HTTP status and a body `{code, message, path?, hint?}`.",
    '',
    '| Code | Exit code | HTTP status | Meaning |',
    '| --- | --- | --- | --- |',
    ...rows,
    '',
  ].join('\n');
}
