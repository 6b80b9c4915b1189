import { ECRClient, GetAuthorizationTokenCommand } from '@aws-sdk/client-ecr';
import { ecrRegion, quietAwsSdk } from '@katapult/core';

/** What the Docker engine takes as X-Registry-Auth for a pull (dockerode's `authconfig`). */
export interface RegistryCredentials {
  username: string;
  password: string;
  serveraddress: string;
}

/** Where the credentials of one registry come from. */
export interface RegistryAuthSource {
  /** What it gets, for error lines: "cannot get an ECR token for <image>". */
  readonly kind: string;
  /** `refresh`: the registry refused the last credentials, so a cached copy will not do. */
  credentials(options?: { refresh?: boolean }): Promise<RegistryCredentials>;
}

/** The auth source for a registry host, or undefined to pull without credentials. */
export type AuthSourceFor = (registryHost: string) => RegistryAuthSource | undefined;

export interface EcrAuthOptions {
  /** The client for a region; by default the SDK's, with its default credential chain (the instance role on EC2). */
  client?: (region: string) => ECRClient;
  now?: () => number;
  /** A cached token is renewed this long before ECR says it expires, so a long pull does not outlive it. */
  renewBeforeMs?: number;
}

const DEFAULT_RENEW_BEFORE_MS = 5 * 60_000;
// ECR documents 12 hours; used only if a reply has no expiresAt.
const TOKEN_LIFETIME_MS = 12 * 60 * 60_000;

/** An ECR registry's login, from GetAuthorizationToken in the registry's own region, cached until shortly before it expires. */
export class EcrTokenSource implements RegistryAuthSource {
  readonly kind = 'an ECR token';
  private cached: { credentials: RegistryCredentials; renewAt: number } | undefined;
  private pending: Promise<RegistryCredentials> | undefined;
  private readonly client: ECRClient;
  private readonly now: () => number;
  private readonly renewBeforeMs: number;

  constructor(
    readonly host: string,
    options: EcrAuthOptions = {},
  ) {
    const region = ecrRegion(host);
    if (region === undefined) throw new Error(`${host} is not an ECR registry`);
    quietAwsSdk();
    this.client = (options.client ?? ((name: string) => new ECRClient({ region: name })))(region);
    this.now = options.now ?? Date.now;
    this.renewBeforeMs = options.renewBeforeMs ?? DEFAULT_RENEW_BEFORE_MS;
  }

  credentials(options: { refresh?: boolean } = {}): Promise<RegistryCredentials> {
    if (!options.refresh && this.cached && this.now() < this.cached.renewAt) return Promise.resolve(this.cached.credentials);
    // Jobs starting together share one request.
    this.pending ??= this.fetchToken().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  private async fetchToken(): Promise<RegistryCredentials> {
    this.cached = undefined;
    const data = (await this.client.send(new GetAuthorizationTokenCommand({}))).authorizationData?.[0];
    const decoded = Buffer.from(data?.authorizationToken ?? '', 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0) throw new Error('ECR returned no usable authorization token');
    const credentials = { username: decoded.slice(0, colon), password: decoded.slice(colon + 1), serveraddress: this.host };
    const expiresAt = data?.expiresAt?.getTime() ?? this.now() + TOKEN_LIFETIME_MS;
    this.cached = { credentials, renewAt: expiresAt - this.renewBeforeMs };
    return credentials;
  }
}

/** ECR hosts get a token source each, kept for the agent's lifetime; other registries are pulled without credentials. */
export function ecrAuthSources(options: EcrAuthOptions = {}): AuthSourceFor {
  const sources = new Map<string, EcrTokenSource>();
  return (host) => {
    if (ecrRegion(host) === undefined) return undefined;
    let source = sources.get(host);
    if (!source) {
      source = new EcrTokenSource(host, options);
      sources.set(host, source);
    }
    return source;
  };
}

/** Credentials given to the agent once, at boot: the local stack's pull-only user of its read-only registry. */
export class StaticAuthSource implements RegistryAuthSource {
  readonly kind = 'the registry credentials this agent was given';

  constructor(private readonly given: RegistryCredentials) {}

  credentials(): Promise<RegistryCredentials> {
    return Promise.resolve(this.given);
  }
}

/** The given registry's own credentials for its host, ECR's tokens for ECR hosts, none elsewhere. */
export function agentAuthSources(given: RegistryCredentials | undefined, options: EcrAuthOptions = {}): AuthSourceFor {
  const ecr = ecrAuthSources(options);
  const source = given ? new StaticAuthSource(given) : undefined;
  return (host) => (source && host === given?.serveraddress ? source : ecr(host));
}
