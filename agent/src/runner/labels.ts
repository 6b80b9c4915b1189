/** Labels on every container Katapult starts; `down` and agent recovery find containers by them. */
export const LABELS = {
  stack: 'katapult.stack',
  role: 'katapult.role',
  run: 'katapult.run',
  job: 'katapult.job',
  attempt: 'katapult.attempt',
  agent: 'katapult.agent',
} as const;
