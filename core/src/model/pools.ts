import type { InstanceSpec, ProviderName } from './run-spec.js';

/**
 * A pool is the set of instances one `instances` entry of a project asks for (Nomad's node pools, Batch's compute
 * environments). Its id is `<project>/<8 hex digits>`, the digits a hash of the project, the provider and every
 * field of the entry that shapes an instance (not `number`, which is the pool's size, nor the entry's index): the
 * same entry in two launches of a project is the same pool, and they share its instances; another entry, or another
 * project, is another pool.
 */
export interface Pool {
  id: string;
  /** The entry's spec, with `number` the instances the pool is kept at. */
  spec: InstanceSpec;
  /** Indexes of the `instances` entries it was made of (identical entries of one config are one pool). */
  groups: number[];
}

export const POOL_ID_PATTERN = '^[a-zA-Z0-9][a-zA-Z0-9_-]*/[0-9a-f]{8}$';

export function poolIdOf(project: string, provider: ProviderName, spec: InstanceSpec): string {
  const { type, eco, ecoLife, ecoFallback, maxBid, region, imgId, gpu, diskSize, diskType, explode, memoryBytes } = spec;
  // On AWS an entry without `cpus` has its type's vCPUs, whatever this machine has; locally it has this machine's.
  const cpus = provider === 'aws' && !spec.cpusGiven ? null : spec.cpus;
  // Fallback types count only when there are some, so a single type keeps the pool id it always had.
  const fallbacks = spec.fallbackTypes?.length ? { fallbackTypes: spec.fallbackTypes } : {};
  const regions = spec.fallbackRegions?.length ? { fallbackRegions: spec.fallbackRegions } : {};
  const shape = {
    provider,
    type,
    ...fallbacks,
    cpus,
    gpus: spec.gpus ?? 0,
    memoryBytes,
    eco,
    ecoLife,
    ecoFallback,
    maxBid,
    region,
    ...regions,
    imgId,
    gpu,
    diskSize,
    diskType,
    explode,
  };
  return `${project}/${fnv1a(JSON.stringify([project, shape]))}`;
}

/** The pools a run's `instances` make; identical entries add up to one pool of their summed `number`. */
export function poolsOf(run: { project: string; provider: ProviderName; instances: readonly InstanceSpec[] }): Pool[] {
  const pools = new Map<string, Pool>();
  for (const spec of run.instances) {
    const id = poolIdOf(run.project, run.provider, spec);
    const found = pools.get(id);
    if (found) {
      found.spec = { ...found.spec, number: found.spec.number + spec.number };
      found.groups.push(spec.group);
    } else pools.set(id, { id, spec: { ...spec }, groups: [spec.group] });
  }
  return [...pools.values()];
}

/** 32-bit FNV-1a as 8 hex digits: a stable short name, not a secret. */
function fnv1a(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, '0');
}
