/** `<repository>@sha256:<64 hex digits>`, with or without a tag before the digest: the only reference a tag moved later cannot change. */
const PINNED = /^[^\s@]+@sha256:[0-9a-f]{64}$/;

export function isPinnedImage(ref: string): boolean {
  return PINNED.test(ref);
}

/** The first environment whose image is not pinned by digest, as `images.<name>`; undefined if all are. */
export function unpinnedImage(images: Readonly<Record<string, string>>): { field: string; ref: string } | undefined {
  const found = Object.entries(images).find(([, ref]) => !isPinnedImage(ref));
  return found && { field: `images.${found[0]}`, ref: found[1] };
}

/** The first image of a run request not pinned by digest: an environment's (`images.<name>`), else the agent's (`agentImage`). */
export function unpinnedRunImage(request: {
  images: Readonly<Record<string, string>>;
  agentImage?: string | undefined;
}): { field: string; ref: string } | undefined {
  const environment = unpinnedImage(request.images);
  if (environment) return environment;
  return request.agentImage !== undefined && !isPinnedImage(request.agentImage)
    ? { field: 'agentImage', ref: request.agentImage }
    : undefined;
}
