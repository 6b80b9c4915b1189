import type { InstanceSpec, RunSpec } from '../model/run-spec.js';
import type { RunPlacement } from '../provider/provider.js';
import type { RunState } from './job.js';

/** A run as the coordinator stores it (KV `runs`), and as the kept history is read back. */
export interface RunRecord {
  id: string;
  project: string;
  configFile: string;
  jobAssign: RunSpec['jobAssign'];
  state: RunState;
  /** Hash of what was submitted (spec, images, files): the same submission again resumes this run (`recover`). */
  fingerprint: string;
  /** The instances the run asked for, kept up while it has work. */
  instances: InstanceSpec[];
  autoStopSeconds: number | null;
  /** `max_hourly_cost` and `max_cost` of its config; absent or null: no cap. */
  maxHourlyCost?: number | null;
  maxCost?: number | null;
  /** Why the coordinator stopped the run (`max_cost` reached); absent: it did not. */
  stopReason?: string;
  /** Which provider starts the instances and how they reach back; absent on runs stored before it was kept (local). */
  placement?: RunPlacement;
  /** The values of its jobs' secrets, sealed under the coordinator's run key (sealSecrets); absent: none. */
  secrets?: string;
  createdAt: number;
  finishedAt: number | null;
}
