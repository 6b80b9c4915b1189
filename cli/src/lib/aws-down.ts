import { awsClients, describeItem, downProject, type DownItem } from '@katapult/coordinator';
import type { RunSpec } from '@katapult/core/light';

export interface AwsDownReport {
  project: string;
  dryRun: boolean;
  /** What was removed (or, with dryRun, would be), in the order it went: `{ kind, id, name? }`. */
  items: DownItem[];
}

/**
 * The AWS half of `katapult down CONFIG`: every resource tagged with the config's project, in the region and
 * profile its instances use. The clients take their endpoint from the SDK's own configuration.
 */
export async function downAwsProject(spec: Pick<RunSpec, 'project' | 'profile' | 'instances'>, options: { dryRun: boolean; log: (line: string) => void }): Promise<AwsDownReport> {
  const region = spec.instances.find((instance) => instance.region !== null)?.region ?? null;
  const result = await downProject(awsClients({ region, profile: spec.profile }), spec.project, { dryRun: options.dryRun, log: options.log });
  if (result.items.length === 0) options.log(`no AWS resource is tagged katapult:project=${spec.project}`);
  return { project: spec.project, dryRun: result.dryRun, items: result.items };
}

export { describeItem };
