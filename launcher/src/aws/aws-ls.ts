import { DescribeRegionsCommand } from '@aws-sdk/client-ec2';
import { awsClients, awsErrorToKatapult, awsPriceLookup, listTaggedEc2, listTaggedIam, type TaggedResource } from '@katapult/aws';
import { ecrClient, listTaggedRepositories } from '@katapult/images/ecr';

/** One line of `katapult ls --aws`: a resource tagged `katapult:project`, its age and, for instances, its hourly price. */
export interface AwsLsRow {
  project: string;
  kind: TaggedResource['kind'] | 'ECR repository';
  id: string;
  region: string | null;
  /** Instances: their type, market and state. */
  detail: string;
  ageSeconds: number | null;
  /** Dollars per hour, for instances whose price could be looked up. */
  perHour: number | null;
}

export interface AwsLsReport {
  regions: string[];
  resources: AwsLsRow[];
  /** Why prices are missing, when they are. */
  pricesUnavailable?: string;
}

/**
 * Every resource tagged `katapult:project` that the credentials can see: EC2 in the region (or every region the
 * account has enabled), IAM, and ECR; orphans of any project included, which is what this is for.
 */
export async function listAwsResources(options: {
  profile: string | null;
  region: string | null;
  allRegions: boolean;
  now?: number;
}): Promise<AwsLsReport> {
  const now = options.now ?? Date.now();
  const home = awsClients({ region: options.region, profile: options.profile });
  const homeRegion = await home.ec2.config.region();
  let regions = [homeRegion];
  if (options.allRegions) {
    const found = await home.ec2.send(new DescribeRegionsCommand({})).catch((error: unknown) => {
      throw awsErrorToKatapult(error, { service: 'EC2', operation: 'DescribeRegions' });
    });
    regions = (found.Regions ?? [])
      .map((region) => region.RegionName ?? '')
      .filter(Boolean)
      .sort();
  }
  const tagged: TaggedResource[] = [];
  for (const region of regions) tagged.push(...(await listTaggedEc2(awsClients({ region, profile: options.profile }), region)));
  tagged.push(...(await listTaggedIam(home)));
  const age = (at: Date | null) => (at ? Math.max(0, Math.round((now - at.getTime()) / 1000)) : null);

  const prices = new Map<string, Promise<number | null>>();
  let pricesUnavailable: string | undefined;
  const priceOf = (resource: TaggedResource): Promise<number | null> => {
    if (resource.kind !== 'instance' || !resource.instanceType || !resource.region) return Promise.resolve(null);
    const key = `${resource.region} ${resource.instanceType} ${resource.market}`;
    let pending = prices.get(key);
    if (!pending) {
      pending = awsPriceLookup({ region: resource.region, profile: options.profile })
        .price(resource.instanceType, resource.market ?? 'on-demand')
        .catch((error: unknown) => {
          pricesUnavailable ??= error instanceof Error ? error.message.split('\n')[0] : String(error);
          return null;
        });
      prices.set(key, pending);
    }
    return pending;
  };
  const resources: AwsLsRow[] = [];
  for (const resource of tagged) {
    const detail = resource.kind === 'instance' ? [resource.instanceType, resource.market, resource.state].filter(Boolean).join(' ') : '';
    resources.push({
      project: resource.project,
      kind: resource.kind,
      id: resource.id,
      region: resource.region,
      detail,
      ageSeconds: age(resource.createdAt),
      perHour: await priceOf(resource),
    });
  }
  for (const repository of await listTaggedRepositories(ecrClient({ region: homeRegion, profile: options.profile }))) {
    resources.push({
      project: repository.project,
      kind: 'ECR repository',
      id: repository.name,
      region: homeRegion,
      detail: '',
      ageSeconds: age(repository.createdAt),
      perHour: null,
    });
  }
  resources.sort((a, b) => a.project.localeCompare(b.project));
  return { regions, resources, ...(pricesUnavailable ? { pricesUnavailable } : {}) };
}

/** `45m`, `3h12m`, `4d`. */
export function formatAge(seconds: number | null): string {
  if (seconds === null) return '-';
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours}h${minutes % 60}m`;
  return `${Math.floor(hours / 24)}d`;
}
