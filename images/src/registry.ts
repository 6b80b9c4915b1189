import { ImageError } from './errors.js';

export type RegistryAuth = { username: string; password: string } | { token: string };

export interface OciRegistryOptions {
  /** Use http instead of https. Default: true for 127.0.0.0/8 and localhost, false otherwise. */
  insecure?: boolean;
  auth?: RegistryAuth;
}

const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

function isLoopback(host: string): boolean {
  const name = host.replace(/:\d+$/, '');
  return name === 'localhost' || name.startsWith('127.') || name === '[::1]';
}

/** Next page of a paginated listing, from the RFC 5988 Link header the registry sends. */
function nextPage(response: Response): string | undefined {
  return /<([^>]+)>;\s*rel="next"/.exec(response.headers.get('link') ?? '')?.[1];
}

export interface TagDescription {
  repo: string;
  tag: string;
  digest: string;
  /** Sum of the compressed layer sizes, in bytes. */
  size: number;
  created: string | null;
  labels: Record<string, string>;
}

/** A client for any registry speaking the OCI distribution (Docker registry v2) API. */
export class OciRegistry {
  readonly host: string;
  readonly baseUrl: string;
  readonly #authorization: string | undefined;

  constructor(host: string, opts: OciRegistryOptions = {}) {
    this.host = host;
    this.baseUrl = `${(opts.insecure ?? isLoopback(host)) ? 'http' : 'https'}://${host}`;
    const auth = opts.auth;
    if (auth === undefined) this.#authorization = undefined;
    else if ('token' in auth) this.#authorization = `Bearer ${auth.token}`;
    else this.#authorization = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
  }

  async #request(method: string, path: string, headers: Record<string, string> = {}): Promise<Response> {
    const url = `${this.baseUrl}${path}`;
    try {
      return await fetch(url, {
        method,
        headers: { ...headers, ...(this.#authorization ? { authorization: this.#authorization } : {}) },
        signal: AbortSignal.timeout(30_000),
      });
    } catch (error) {
      const reason = error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : String(error);
      throw new ImageError('KP_REGISTRY_ERROR', `cannot reach the registry at ${url}: ${reason}; check that it is running`, {
        cause: error,
      });
    }
  }

  #fail(what: string, response: Response): ImageError {
    const hint = response.status === 401 || response.status === 403 ? '; check the registry credentials' : '';
    return new ImageError('KP_REGISTRY_ERROR', `${what} on ${this.host} failed with HTTP ${response.status}${hint}`);
  }

  /** Resolves when the registry answers GET /v2/ with 200. */
  async ping(): Promise<void> {
    const response = await this.#request('GET', '/v2/');
    await response.body?.cancel();
    if (!response.ok) throw this.#fail('GET /v2/', response);
  }

  async hasTag(repo: string, tag: string): Promise<boolean> {
    const response = await this.#request('HEAD', `/v2/${repo}/manifests/${encodeURIComponent(tag)}`, {
      accept: MANIFEST_ACCEPT,
    });
    if (response.status === 404) return false;
    if (!response.ok) throw this.#fail(`HEAD manifest ${repo}:${tag}`, response);
    return true;
  }

  /**
   * What a tag points at now: its manifest digest (what `repo@digest` pulls) and the digest of its image config,
   * which is the image id Docker gives the image it built; null when the registry has no such tag.
   */
  async manifestOf(repo: string, tag: string): Promise<{ digest: string; configDigest: string | null } | null> {
    const response = await this.#request('GET', `/v2/${repo}/manifests/${encodeURIComponent(tag)}`, { accept: MANIFEST_ACCEPT });
    if (response.status === 404) {
      await response.body?.cancel();
      return null;
    }
    if (!response.ok) throw this.#fail(`GET manifest ${repo}:${tag}`, response);
    const digest = response.headers.get('docker-content-digest');
    const manifest = (await response.json()) as { config?: { digest?: string } };
    if (!digest) throw new ImageError('KP_REGISTRY_ERROR', `the manifest of ${repo}:${tag} on ${this.host} came without its digest`);
    return { digest, configDigest: manifest.config?.digest ?? null };
  }

  /** What `images ls` shows of one tag: manifest digest, compressed size, creation time and labels. */
  async describeTag(repo: string, tag: string): Promise<TagDescription> {
    const response = await this.#request('GET', `/v2/${repo}/manifests/${encodeURIComponent(tag)}`, { accept: MANIFEST_ACCEPT });
    if (!response.ok) throw this.#fail(`GET manifest ${repo}:${tag}`, response);
    const digest = response.headers.get('docker-content-digest') ?? '';
    const manifest = (await response.json()) as { config?: { digest: string }; layers?: { size: number }[] };
    const size = (manifest.layers ?? []).reduce((sum, layer) => sum + layer.size, 0);
    let created: string | null = null;
    let labels: Record<string, string> = {};
    if (manifest.config) {
      const blob = await this.#request('GET', `/v2/${repo}/blobs/${manifest.config.digest}`);
      if (!blob.ok) throw this.#fail(`GET config of ${repo}:${tag}`, blob);
      const config = (await blob.json()) as { created?: string; config?: { Labels?: Record<string, string> | null } };
      created = config.created ?? null;
      labels = config.config?.Labels ?? {};
    }
    return { repo, tag, digest, size, created, labels };
  }

  /** Removes a tag's manifest (the registry must allow deletes). Layers go at the registry's next garbage collection. */
  async deleteManifest(repo: string, digest: string): Promise<void> {
    const response = await this.#request('DELETE', `/v2/${repo}/manifests/${digest}`);
    await response.body?.cancel();
    if (!response.ok && response.status !== 404) throw this.#fail(`DELETE manifest ${repo}@${digest}`, response);
  }

  async listRepositories(): Promise<string[]> {
    return this.#paged('/v2/_catalog', 'listing repositories', (body) => body.repositories);
  }

  /** Tags of `repo`; empty when the repository does not exist. */
  async listTags(repo: string): Promise<string[]> {
    return this.#paged(`/v2/${repo}/tags/list`, `listing tags of ${repo}`, (body) => body.tags);
  }

  async #paged(
    firstPath: string,
    what: string,
    pick: (body: { repositories?: string[] | null; tags?: string[] | null }) => string[] | null | undefined,
  ): Promise<string[]> {
    const items: string[] = [];
    let path: string | undefined = firstPath;
    while (path !== undefined) {
      const response = await this.#request('GET', path);
      if (response.status === 404) {
        await response.body?.cancel();
        return items;
      }
      if (!response.ok) throw this.#fail(what, response);
      items.push(...(pick((await response.json()) as Parameters<typeof pick>[0]) ?? []));
      const next = nextPage(response);
      path = next === undefined ? undefined : new URL(next, this.baseUrl).pathname + new URL(next, this.baseUrl).search;
    }
    return items;
  }
}
