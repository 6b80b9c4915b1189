import { createHash } from 'node:crypto';
import type { Filter, ResourceType, Tag, TagSpecification } from '@aws-sdk/client-ec2';

/**
 * Tags are the source of truth on AWS: everything Katapult creates carries `katapult:project` and `katapult:run`
 * (the run that created it; security group, role and network are the project's and outlive that run), so
 * `ensure` finds what exists and `down` finds everything to delete, with no state kept anywhere else.
 */
export const TAG = {
  project: 'katapult:project',
  run: 'katapult:run',
  /** The coordinator's cluster: `terminateAll` stops only its own instances. */
  cluster: 'katapult:cluster',
  /** Index of the config's `instances` entry an instance was launched for. */
  group: 'katapult:group',
  /** Hash of that entry's AWS settings: an instance launched for another type or disk is not counted as one of it. */
  spec: 'katapult:spec',
  /** The pool (`<project>/<hash>`, poolIdOf) the instance belongs to: what `ensure` counts and auto_stop terminates. */
  pool: 'katapult:pool',
  /** `spot` or `on-demand`: what the instance was launched as (spot falls back to on-demand). */
  market: 'katapult:market',
  /** The agent id the instance boots, when it was issued its own NATS user before launch. */
  agent: 'katapult:agent',
  /** ISO time at which the instance powers itself off (`eco_life`). */
  expires: 'katapult:expires',
  /** `maestro` on the maestro's instance and security group, so neither is taken for an agent's. */
  role: 'katapult:role',
} as const;

export interface Owner {
  project: string;
  runId: string;
}

export function ownerTags(owner: Owner, extra: Record<string, string> = {}): Record<string, string> {
  return { [TAG.project]: owner.project, [TAG.run]: owner.runId, ...extra };
}

export function toTagList(tags: Record<string, string>): Tag[] {
  return Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
}

export function tagSpecifications(types: readonly ResourceType[], tags: Record<string, string>): TagSpecification[] {
  return types.map((ResourceType) => ({ ResourceType, Tags: toTagList(tags) }));
}

export function tagFilter(key: string, ...values: string[]): Filter {
  return { Name: `tag:${key}`, Values: values };
}

export function tagValue(
  tags: readonly { Key?: string | undefined; Value?: string | undefined }[] | undefined,
  key: string,
): string | undefined {
  return tags?.find((tag) => tag.Key === key)?.Value;
}

/**
 * The name of the project's security group, IAM role, instance profile and key pair: `katapult-<project>`
 * (then `suffix`, e.g. `-maestro`), shortened with a hash past IAM's 64 characters (a project name may have 63).
 */
export function resourceName(project: string, suffix = ''): string {
  const name = `katapult-${project}${suffix}`;
  if (name.length <= 64) return name;
  const hash = createHash('sha256').update(project).digest('hex').slice(0, 8);
  return `katapult-${project.slice(0, 64 - 'katapult-'.length - 9 - suffix.length)}-${hash}${suffix}`;
}
