/** What the CLI ends with: 0 ok, 1 a job failed, 2 bad input, 3 infrastructure (130 on Ctrl-C). */
export const ExitCode = {
  ok: 0,
  jobFailed: 1,
  badInput: 2,
  infrastructure: 3,
  interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];
