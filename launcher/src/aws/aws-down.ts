import { awsClients, downProject, type DownItem, type DownItemEvent } from '@katapult/aws';
import type { RunSpec } from '@katapult/core/light';
import { deleteRepository, ecrClient, listProjectRepositories } from '@katapult/images/ecr';
import type { KeptItem, OnDownEvent, RepositoryItem } from '../stack/down-events.js';

export type { KeptItem, RepositoryItem };

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
  options: { dryRun: boolean; images?: boolean; emit: OnDownEvent },
): Promise<AwsDownReport> {
  // Every region an entry may launch in (a `region` list's too); the first last, as it holds the roles (IAM is global).
  const named = spec.instances.flatMap((instance) =>
    instance.region === null ? [] : [instance.region, ...(instance.fallbackRegions ?? [])],
  );
  const [region = null, ...others] = [...new Set(named)];
  const items: AwsDownReport['items'] = [];
  const onItem = (event: DownItemEvent) => options.emit({ type: 'aws-item', ...event });
  for (const other of others) {
    const result = await downProject(awsClients({ region: other, profile: spec.profile }), spec.project, {
      dryRun: options.dryRun,
      onItem,
      regionalOnly: true,
    });
    items.push(...result.items);
  }
  const result = await downProject(awsClients({ region, profile: spec.profile }), spec.project, {
    dryRun: options.dryRun,
    onItem,
  });
  items.push(...result.items);
  const kept: KeptItem[] = [];
  // ECR repositories are made in the first entry's region (registry: ecr).
  const ecr = ecrClient({ region: spec.instances[0]?.region ?? region, profile: spec.profile });
  for (const repository of await listProjectRepositories(ecr, spec.project)) {
    const item: RepositoryItem = { kind: 'ECR repository', id: repository.name };
    if (!options.images) {
      const keptItem = { ...item, reason: KEPT_REPOSITORY_REASON };
      kept.push(keptItem);
      options.emit({ type: 'aws-kept', item: keptItem });
    } else if (options.dryRun) {
      items.push(item);
      options.emit({ type: 'aws-item', action: 'would-remove', item });
    } else {
      await deleteRepository(ecr, repository.name);
      items.push(item);
      options.emit({ type: 'aws-item', action: 'removed', item });
    }
  }
  if (items.length === 0 && kept.length === 0) options.emit({ type: 'aws-nothing-tagged', project: spec.project });
  return { project: spec.project, dryRun: result.dryRun, items, kept };
}
