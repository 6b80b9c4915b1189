import { ENV_REPOSITORY, ENVIRONMENT_LABEL } from './build-env.js';
import type { OciRegistry } from './registry.js';

export interface EnvironmentImageInfo {
  tag: string;
  ref: string;
  digest: string;
  size: number;
  created: string | null;
  /** The environment name it was first built for (names do not change the tag, so others may share it). */
  environment: string | null;
}

/** Every environment image in the registry, newest first. */
export async function listEnvironmentImages(registry: OciRegistry): Promise<EnvironmentImageInfo[]> {
  const images: EnvironmentImageInfo[] = [];
  for (const tag of await registry.listTags(ENV_REPOSITORY)) {
    const info = await registry.describeTag(ENV_REPOSITORY, tag);
    images.push({
      tag,
      ref: `${registry.host}/${ENV_REPOSITORY}:${tag}`,
      digest: info.digest,
      size: info.size,
      created: info.created,
      environment: info.labels[ENVIRONMENT_LABEL] ?? null,
    });
  }
  return images.sort((a, b) => (b.created ?? '').localeCompare(a.created ?? ''));
}

/** Removes the environment images whose tags are not in `keep`; with `dryRun`, only says which. */
export async function pruneEnvironmentImages(
  registry: OciRegistry,
  keep: ReadonlySet<string>,
  dryRun: boolean,
): Promise<EnvironmentImageInfo[]> {
  const images = await listEnvironmentImages(registry);
  // The registry deletes by digest, which removes every tag on it: a digest a kept tag uses stays.
  const keptDigests = new Set(images.filter((image) => keep.has(image.tag)).map((image) => image.digest));
  const unused = images.filter((image) => !keep.has(image.tag) && !keptDigests.has(image.digest));
  if (!dryRun) for (const image of unused) await registry.deleteManifest(ENV_REPOSITORY, image.digest);
  return unused;
}
