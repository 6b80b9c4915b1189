import type { JobReport } from './messages.js';
import type { ClusterNames } from './subjects.js';

/**
 * Why the outputs an `exited` report points to cannot be the sender's own for that attempt; undefined when they
 * are (or it points to none). Only the sender can write under its own output subject, so an outcome whose outputs
 * are anywhere else could carry files another party planted.
 */
export function foreignOutputs(names: ClusterNames, report: JobReport, sender: string): string | undefined {
  if (report.type !== 'exited' || !report.outputs?.object) return undefined;
  const own = names.outputSubject(sender, report.runId, report.jobId, report.attempt);
  return report.outputs.object === own ? undefined : `its outputs are at ${report.outputs.object}, not at the sender's ${own}`;
}
