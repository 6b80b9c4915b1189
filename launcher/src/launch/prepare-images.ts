import { dirname } from 'node:path';
import type Docker from 'dockerode';
import {
  buildEnvironment,
  ENV_REPOSITORY,
  ensureAgentImage,
  ensureNodeImage,
  localImageId,
  OciRegistry,
  pushImage,
  pullOwnImage,
  type BaseImage,
  type EnvironmentImage,
  type RegistryAuth,
  type OnProgress,
} from '@katapult/images';
import { ExitCode, KatapultError, type RunSpec } from '@katapult/core/light';
import { registryHost, registryPullHost, type StackFile } from '../state/stack-file.js';
import { readRegistryAuth } from '../state/registry-auth.js';
import type { StateFolder } from '../state/state-folder.js';

/** pip settings passed through to image builds, so an offline or private package index works. */
const PASSED_BUILD_ARGS = ['PIP_INDEX_URL', 'PIP_EXTRA_INDEX_URL', 'PIP_FIND_LINKS', 'PIP_TRUSTED_HOST'] as const;

export interface BuildContext {
  docker: Docker;
  /** The base image every environment and the agent image are built on, resolved once per command. */
  base: BaseImage;
  /** The local stack (its registry is the default); none when NATS and the coordinator run on a remote maestro. */
  stack?: StackFile;
  state: StateFolder;
  onProgress: OnProgress;
}

/**
 * What became of an environment's image, as `build` and `launch` say it. `pushed again`: the registry's tag had been
 * overwritten with another image, so the one built here was pushed over it.
 */
export type BuildOutcome = 'reused' | 'built' | 'pushed again' | 'failed';

/** Where per-environment progress goes when a live display shows it (instead of one line per step). */
export interface EnvironmentProgressSink {
  update(name: string, patch: { step?: string; outcome?: BuildOutcome }): void;
}

/** One image per environment, on the base image (bootstrapped from Debian when none can be pulled). */
export async function buildEnvironments(
  context: BuildContext,
  spec: RunSpec,
  configFile: string,
  display?: EnvironmentProgressSink,
): Promise<EnvironmentImage[]> {
  const { base } = context;
  const { registry, auth, pullHost } = await resolveRegistry(spec, localOf(context));
  const buildArgs = Object.fromEntries(PASSED_BUILD_ARGS.flatMap((name) => (process.env[name] ? [[name, process.env[name]]] : [])));
  const images: EnvironmentImage[] = [];
  for (const env of spec.environments) {
    display?.update(env.name, { step: 'checking' });
    const own = env.image
      ? await pullOwnImage(context.docker, env.name, env.image, (event) =>
          context.onProgress({ step: `${env.name} ${event.step}`, message: event.message }),
        )
      : undefined;
    const image = await buildEnvironment(context.docker, {
      env,
      projectDir: dirname(configFile),
      base: own ?? base,
      registry,
      ...(pullHost ? { pullHost } : {}),
      ...(auth ? { registryAuth: auth } : {}),
      buildArgs,
      // Build steps share this machine's network, so a package index on 127.0.0.1 is reachable.
      networkMode: 'host',
      logDir: context.state.buildsFolder,
      onProgress: (event) =>
        display
          ? display.update(env.name, { step: event.step })
          : context.onProgress({ step: `${env.name} ${event.step}`, message: event.message }),
    }).catch((error: unknown) => {
      display?.update(env.name, { outcome: 'failed' });
      throw error;
    });
    display?.update(env.name, { outcome: buildOutcome(image) });
    images.push(image);
  }
  return images;
}

/** How `build` and `launch` say what became of an environment: "reused" only when the registry's tag is the image built for it. */
export function buildOutcome(image: Pick<EnvironmentImage, 'built' | 'repushed'>): BuildOutcome {
  return image.built ? 'built' : image.repushed ? 'pushed again' : 'reused';
}

/** The local stack and its state folder, where the registry's credentials are. */
export interface LocalRegistryRef {
  stack: StackFile;
  state: StateFolder;
}

/** The local stack's registry with the CLI's push credentials, and the read-only host agents pull from. */
export function localRegistry(local: LocalRegistryRef): { registry: OciRegistry; auth?: RegistryAuth; pullHost: string } {
  const credentials = readRegistryAuth(local.state)?.push;
  const auth = credentials ? { username: credentials.username, password: credentials.password } : undefined;
  return {
    registry: new OciRegistry(registryHost(local.stack), auth ? { auth } : {}),
    ...(auth ? { auth } : {}),
    pullHost: registryPullHost(local.stack),
  };
}

/**
 * The config's `registry` (any OCI registry: `host:port`, or a URL whose http:// scheme marks it insecure),
 * else the stack's local registry.
 */
export function registryFor(spec: Pick<RunSpec, 'registry'>, local: LocalRegistryRef | undefined): OciRegistry {
  return resolveOther(spec, local).registry;
}

function resolveOther(
  spec: Pick<RunSpec, 'registry'>,
  local: LocalRegistryRef | undefined,
): { registry: OciRegistry; auth?: RegistryAuth; pullHost?: string } {
  if (!spec.registry) {
    // The config rules require a registry wherever no local stack runs (maestro: remote).
    if (!local) throw new KatapultError('KP_NO_REGISTRY', 'no registry: set `registry` in the config', { exitCode: ExitCode.badInput });
    return localRegistry(local);
  }
  const url = /^https?:\/\//.test(spec.registry) ? new URL(spec.registry) : undefined;
  return {
    registry: url ? new OciRegistry(url.host, { insecure: url.protocol === 'http:' }) : new OciRegistry(spec.registry.replace(/\/+$/, '')),
  };
}

/**
 * `registry: ecr` prepares the project's ECR repository and logs in; the local registry takes the CLI's push
 * credentials; another registry is used without credentials. `pullHost`: where agents pull from, when not there.
 */
export async function resolveRegistry(
  spec: Pick<RunSpec, 'registry' | 'profile' | 'project' | 'instances'>,
  local: LocalRegistryRef | undefined,
  repository = ENV_REPOSITORY,
): Promise<{ registry: OciRegistry; auth?: RegistryAuth; pullHost?: string }> {
  if (spec.registry !== 'ecr') return resolveOther(spec, local);
  const { ecrClient, prepareEcr } = await import('@katapult/images/ecr');
  const client = ecrClient({ region: spec.instances[0]?.region ?? null, profile: spec.profile });
  const ecr = await prepareEcr(client, { repository, tags: { 'katapult:project': spec.project } });
  return { registry: ecr.registry, auth: ecr.auth };
}

/** Where instances that cannot use this machine's Docker (EC2) pull the agent and maestro images from, beside the environments. */
export const AGENT_REPOSITORY = 'katapult/agent';
export const MAESTRO_REPOSITORY = 'katapult/maestro';

/**
 * A Katapult image in the run's registry, for instances elsewhere: pushed unless the registry has its tag
 * already (the tag is a hash of what the image is built from, so a teammate's push serves everyone).
 */
/**
 * Pushes a locally built image (agent, maestro) to the run's registry unless the registry already has this very image
 * under its tag, and returns it pinned by manifest digest, so what a later push over the tag holds is never run.
 */
export async function publishImage(
  context: BuildContext,
  spec: Pick<RunSpec, 'registry' | 'profile' | 'project' | 'instances'>,
  localRef: string,
  repository: string,
): Promise<string> {
  const { registry, auth } = await resolveRegistry(spec, localOf(context), repository);
  const tag = localRef.slice(localRef.lastIndexOf(':') + 1);
  const pinned = (digest: string) => `${registry.host}/${repository}@${digest}`;
  const remote = await registry.manifestOf(repository, tag);
  const local = await localImageId(context.docker, localRef);
  if (remote && (local === undefined || remote.configDigest === local)) return pinned(remote.digest);
  const target = `${registry.host}/${repository}:${tag}`;
  context.onProgress({ step: 'push', message: `pushing ${target}` });
  return pinned(await pushImage(context.docker, localRef, target, undefined, auth));
}

export function publishAgentImage(
  context: BuildContext,
  spec: Pick<RunSpec, 'registry' | 'profile' | 'project' | 'instances'>,
  localRef: string,
): Promise<string> {
  return publishImage(context, spec, localRef, AGENT_REPOSITORY);
}

function localOf(context: BuildContext): LocalRegistryRef | undefined {
  return context.stack ? { stack: context.stack, state: context.state } : undefined;
}

/** The agent runs on the Node image, itself on the base image. */
export async function prepareAgentImage(context: BuildContext, repoRoot: string): Promise<string> {
  const node = await ensureNodeImage(context.docker, context.base.ref, { onProgress: context.onProgress });
  return (await ensureAgentImage(context.docker, { repoRoot, nodeImage: node.ref, onProgress: context.onProgress })).ref;
}
