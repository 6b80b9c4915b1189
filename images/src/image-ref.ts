import { ImageError } from './errors.js';

export interface ImageRef {
  /** Everything before the tag, registry host included: "127.0.0.1:5000/katapult/node". */
  repo: string;
  tag: string;
}

/** Splits "host:port/name:tag" into repo and tag; the tag defaults to "latest". */
export function parseImageRef(ref: string): ImageRef {
  if (ref.includes('@')) {
    throw new ImageError('KP_IMAGE_REF_INVALID', `image reference "${ref}" has a digest; use a name:tag reference`);
  }
  const lastSlash = ref.lastIndexOf('/');
  const lastColon = ref.lastIndexOf(':');
  // A colon before the last slash belongs to the registry host's port, not to a tag.
  if (lastColon > lastSlash) return { repo: ref.slice(0, lastColon), tag: ref.slice(lastColon + 1) };
  return { repo: ref, tag: 'latest' };
}

/** Splits a registry-qualified repo "127.0.0.1:5000/a/b" into host and path. */
export function splitRegistryHost(repo: string): { host: string; path: string } {
  const slash = repo.indexOf('/');
  const host = slash < 0 ? '' : repo.slice(0, slash);
  // Docker's rule: the first component is a registry host only if it looks like one.
  if (!(host.includes('.') || host.includes(':') || host === 'localhost')) {
    throw new ImageError('KP_IMAGE_REF_INVALID', `image reference "${repo}" names no registry host; use host:port/name:tag`);
  }
  return { host, path: repo.slice(slash + 1) };
}
