/**
 * Labels on every container Katapult starts (agents and jobs): `down`, the local provider and agent recovery find
 * containers by them, so the agent, the coordinator and the CLI read them from here.
 */
export const LABELS = {
  stack: 'katapult.stack',
  /** `agent` or `job`. */
  role: 'katapult.role',
  run: 'katapult.run',
  job: 'katapult.job',
  attempt: 'katapult.attempt',
  agent: 'katapult.agent',
  /** An agent container's pool (`<project>/<hash>`) and its slot in it (0..number-1). */
  pool: 'katapult.pool',
  slot: 'katapult.slot',
} as const;
