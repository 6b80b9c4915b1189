import { awsClients, describeItem, downProject, type DownItem } from '@katapult/aws';
import type { RunSpec } from '@katapult/core/light';
import { deleteRepository, ecrClient, listProjectRepositories } from '@katapult/images/ecr';

/** A project's ECR repository, removed only with `--images`. */
export interface RepositoryItem {
  kind: 'ECR repository';
  id: string;
}

/** Something tagged with the project that `down` leaves in place, and why. */
export interface KeptItem extends RepositoryItem {
  reason: string;
}

export interface AwsDownReport {
  project: string;
  dryRun: boolean;
  /** What was removed (or, with dryRun, would be), in the order it went: `{ kind, id, name? }`. */
  items: Array<DownItem | RepositoryItem>;
  /** What is tagged with the project and stays. */
  kept: KeptItem[];
}

export const KEPT_REPOSITORY_REASON =
  "kept: its images are content-tagged and shared by every launch of the account's projects; --images removes it";

/**
 * The AWS half of `katapult down CONFIG`: every resource tagged with the config's project, in the region and
 * profile its instances use, and its ECR repositories, which are kept unless `images` (they serve teammates too).
 * The clients take their endpoint from the SDK's own configuration.
 */
export async function downAwsProject(
  spec: Pick<RunSpec, 'project' | 'profile' | 'instances'>,
  options: { dryRun: boolean; images?: boolean; log: (line: string) => void },
): Promise<AwsDownReport> {
  // Every region an entry may launch in (a `region` list's too); the first last, as it holds the roles (IAM is global).
  const named = spec.instances.flatMap((instance) =>
    instance.region === null ? [] : [instance.region, ...(instance.fallbackRegions ?? [])],
  );
  const [region = null, ...others] = [...new Set(named)];
  const items: AwsDownReport['items'] = [];
  for (const other of others) {
    const result = await downProject(awsClients({ region: other, profile: spec.profile }), spec.project, {
      dryRun: options.dryRun,
      log: options.log,
      regionalOnly: true,
    });
    items.push(...result.items);
  }
  const result = await downProject(awsClients({ region, profile: spec.profile }), spec.project, {
    dryRun: options.dryRun,
    log: options.log,
  });
  items.push(...result.items);
  const kept: KeptItem[] = [];
  // ECR repositories are made in the first entry's region (registry: ecr).
  const ecr = ecrClient({ region: spec.instances[0]?.region ?? region, profile: spec.profile });
  for (const repository of await listProjectRepositories(ecr, spec.project)) {
    const item: RepositoryItem = { kind: 'ECR repository', id: repository.name };
    if (!options.images) {
      kept.push({ ...item, reason: KEPT_REPOSITORY_REASON });
      options.log(`${describeItem(item)} ${KEPT_REPOSITORY_REASON}`);
    } else if (options.dryRun) {
      items.push(item);
      options.log(`would remove ${describeItem(item)} with its images`);
    } else {
      await deleteRepository(ecr, repository.name);
      items.push(item);
      options.log(`removed ${describeItem(item)} with its images`);
    }
  }
  if (items.length === 0 && kept.length === 0) options.log(`no AWS resource is tagged katapult:project=${spec.project}`);
  return { project: spec.project, dryRun: result.dryRun, items, kept };
}

export { describeItem };
