import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { pack } from 'tar-fs';
import { ExitCode, KatapultError, type EnvironmentSpec } from '@katapult/core';
import { summarizeBuildFailure } from './build-failure.js';
import { buildImage, ImageBuildError } from './build-image.js';
import { environmentTag } from './env-tag.js';
import { withFileLock } from './file-lock.js';
import { localImageId } from './local-image.js';
import type { OnProgress } from './progress.js';
import { readProjectFiles } from './project-files.js';
import { pushImage } from './push-image.js';
import { planEnvironmentImage, RECIPE_VERSION, referencedFiles, stepOfInstruction } from './recipes/dockerfile.js';
import type { OciRegistry, RegistryAuth } from './registry.js';

export const ENV_REPOSITORY = 'katapult/env';
export const ENVIRONMENT_LABEL = 'katapult.environment';
export const RECIPE_LABEL = 'katapult.recipe';
const DOCKERFILE = 'Dockerfile.katapult';

export interface EnvironmentBuildRequest {
  env: EnvironmentSpec;
  /** Folder the environment's files (requirements.txt, setup scripts) are relative to: the config's folder. */
  projectDir: string;
  base: { ref: string; id: string };
  registry: OciRegistry;
  /** The registry host agents pull from, when not `registry`'s own (the local stack's read-only registry). */
  pullHost?: string;
  /** Credentials for pushing (ECR's login, say); none for an open registry. */
  registryAuth?: RegistryAuth;
  /** Build args such as PIP_INDEX_URL; they do not change the tag. */
  buildArgs?: Record<string, string>;
  networkMode?: string;
  noCache?: boolean;
  /** Where the full build log is written, one file per environment. */
  logDir: string;
  onProgress?: OnProgress;
}

export interface EnvironmentImage {
  name: string;
  tag: string;
  /** What jobs run: the image pinned by its manifest digest, at the host agents pull from (`host/katapult/env@sha256:…`). */
  ref: string;
  /** The content tag in the registry pushed to (`host/katapult/env:<tag>`). */
  tagRef: string;
  /** The manifest digest the registry gave at push (or holds for the tag, when reused). */
  digest: string;
  built: boolean;
  /**
   * The registry's tag pointed at another image than the one this Docker built for it (overwritten by someone
   * else), so the image built here was pushed again.
   */
  repushed: boolean;
  logFile: string | null;
}

/** The image reference an environment will have, computed without building anything. */
export async function environmentImageRef(
  request: Pick<EnvironmentBuildRequest, 'env' | 'projectDir' | 'base' | 'registry'>,
): Promise<{ tag: string; ref: string; files: Record<string, Buffer> }> {
  const files = await readProjectFiles(request.projectDir, referencedFiles(request.env), `environment "${request.env.name}"`);
  const tag = environmentTag({ env: request.env, baseImageDigest: request.base.id, files });
  return { tag, ref: `${request.registry.host}/${ENV_REPOSITORY}:${tag}`, files };
}

/**
 * Content-addressed: when the registry already holds the tag (built by anyone, on any machine), nothing is
 * built. Otherwise the image is built from the recipe on the base image and pushed. Either way the image is
 * pinned by the digest the registry has for it, so a tag overwritten later changes nothing that was submitted.
 * A tag that names another image than the one this Docker built under it was overwritten: the image built
 * here is pushed again (a tag this Docker never had, a teammate's build, is taken as the registry has it).
 */
export async function buildEnvironment(docker: Docker, request: EnvironmentBuildRequest): Promise<EnvironmentImage> {
  const named = await environmentImageRef(request);
  // Commands launched at once build and push one tag in turns: the registry answers 500 to two pushes of one image
  // at a time, and the second finds the image there.
  return withFileLock(`environment ${named.ref}`, () => buildNamedEnvironment(docker, request, named));
}

async function buildNamedEnvironment(
  docker: Docker,
  request: EnvironmentBuildRequest,
  { tag, ref, files }: Awaited<ReturnType<typeof environmentImageRef>>,
): Promise<EnvironmentImage> {
  const { env } = request;
  const pinned = (digest: string) => `${request.pullHost ?? request.registry.host}/${ENV_REPOSITORY}@${digest}`;
  const image = (digest: string, outcome: { built: boolean; repushed: boolean; logFile: string | null }): EnvironmentImage => ({
    name: env.name,
    tag,
    ref: pinned(digest),
    tagRef: ref,
    digest,
    ...outcome,
  });
  const remote = await request.registry.manifestOf(ENV_REPOSITORY, tag);
  const local = await localImageId(docker, ref);
  if (remote && (local === undefined || remote.configDigest === local))
    return image(remote.digest, { built: false, repushed: false, logFile: null });
  if (remote && local !== undefined) {
    request.onProgress?.({
      step: 'push',
      message: `${ref} in the registry is image ${shortId(remote.configDigest)}, not ${shortId(local)} built here for it: someone overwrote the tag; pushing it again`,
    });
    const digest = await pushImage(docker, ref, ref, undefined, request.registryAuth);
    return image(digest, { built: false, repushed: true, logFile: null });
  }

  const plan = planEnvironmentImage(env, request.base.ref);
  mkdirSync(request.logDir, { recursive: true });
  const logFile = join(request.logDir, `${env.name}-${tag}.log`);
  const log = createWriteStream(logFile);
  let instruction = 0;
  const context = pack(request.projectDir, {
    entries: Object.keys(files),
    finalize: false,
    finish: (archive) => {
      archive.entry({ name: DOCKERFILE }, plan.dockerfile);
      archive.finalize();
    },
  });
  try {
    await buildImage(docker, {
      context,
      tag: ref,
      dockerfile: DOCKERFILE,
      buildargs: request.buildArgs ?? {},
      // Labels are not part of the tag: whoever builds an environment first names it in the image.
      labels: { [ENVIRONMENT_LABEL]: env.name, [RECIPE_LABEL]: String(RECIPE_VERSION) },
      ...(request.networkMode === undefined ? {} : { networkmode: request.networkMode }),
      ...(request.noCache ? { noCache: true } : {}),
      onProgress: (event) => {
        log.write(`${event.message}\n`);
        const step = /^Step (\d+)\/\d+ :/.exec(event.message);
        if (step) {
          instruction = Number(step[1]);
          const kind = stepOfInstruction(plan.dockerfile, instruction);
          if (kind) request.onProgress?.({ step: kind, message: event.message });
        }
      },
    });
  } catch (error) {
    const kind = stepOfInstruction(plan.dockerfile, instruction) ?? 'base';
    if (!(error instanceof ImageBuildError)) {
      const reason = error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error);
      throw new KatapultError('KP_ENV_BUILD_FAILED', `environment "${env.name}" failed at its ${kind} step: ${reason}`, {
        hint: `full build log: ${logFile}`,
        exitCode: ExitCode.infrastructure,
        cause: error,
      });
    }
    const summary = summarizeBuildFailure(error.output);
    const why = summary.lines.length > 0 ? `: ${summary.lines.join(' | ')}` : '';
    const exit = /returned a non-zero code: (\d+)/.exec(error.reason);
    const ended = exit ? `exit code ${exit[1]}` : error.reason;
    throw new KatapultError('KP_ENV_BUILD_FAILED', `environment "${env.name}" failed at its ${kind} step${why} (${ended})`, {
      hint: summary.network
        ? `a server the build needs could not be reached: check this machine's network or proxy; full build log: ${logFile}`
        : `full build log: ${logFile}`,
      // Most failed builds come from the spec (a package that does not exist, a bad requirement); a network that
      // does not answer is the machine's.
      exitCode: summary.network ? ExitCode.infrastructure : ExitCode.badInput,
      cause: error,
    });
  } finally {
    await new Promise((resolve) => log.end(resolve));
  }
  request.onProgress?.({ step: 'push', message: `pushing ${ref}` });
  const digest = await pushImage(docker, ref, ref, undefined, request.registryAuth);
  return image(digest, { built: true, repushed: false, logFile });
}

function shortId(id: string | null): string {
  return id === null ? '(an image list)' : id.replace(/^sha256:/, '').slice(0, 12);
}
