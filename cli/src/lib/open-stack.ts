import { checkDocker, connectDocker, ensureBaseImage } from '@katapult/images';
import type Docker from 'dockerode';
import type { RunSpec } from '@katapult/core/light';
import { ensureInfrastructure } from './local-stack.js';
import type { StackExposure } from './stack-file.js';
import type { BuildContext } from './prepare-images.js';
import { stateDir } from './state-dir.js';
import { LiveBuildDisplay } from '../render/build-progress.js';

// Docker repeats per-layer transfer states many times a second; the step lines are what a user follows.
const LAYER_CHATTER = /^[0-9a-f]{12}: (Preparing|Waiting|Pushing|Pushed|Layer already exists)$/;

/** A progress line printer: `[ 12.3s] message`, timed from its creation. */
export function stepLogger(log: (line: string) => void): (message: string) => void {
  const started = Date.now();
  return (message) => log(`[${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s] ${message}`);
}

/** With `provider: aws` and `maestro: local`, the instances dial back to this machine's NATS at maestro_address. */
export function exposureFor(spec: Pick<RunSpec, 'provider' | 'maestroAddress'>): StackExposure | undefined {
  return spec.provider === 'aws' && spec.maestroAddress ? { address: spec.maestroAddress } : undefined;
}

/**
 * What `build` and `launch` do once the config is read: check Docker, start NATS (reachable by instances
 * elsewhere when `exposure` says so) and the registry, resolve the base image.
 */
export async function openStack(step: (message: string) => void, dir = stateDir(), exposure?: StackExposure): Promise<BuildContext> {
  const docker = connectDocker();
  await checkDocker(docker);
  const stack = await ensureInfrastructure(dir, step, exposure);
  return { ...(await withBaseImage(docker, step, dir)), stack };
}

/**
 * For `maestro: remote`, where NATS and the coordinator run on the maestro: Docker checked and the base image
 * resolved, to build the images here; nothing started on this machine.
 */
export async function openBuildContext(step: (message: string) => void, dir = stateDir()): Promise<BuildContext> {
  const docker = connectDocker();
  await checkDocker(docker);
  return withBaseImage(docker, step, dir);
}

async function withBaseImage(docker: Docker, step: (message: string) => void, dir: string): Promise<BuildContext> {
  const onProgress: BuildContext['onProgress'] = (event) => {
    if (!LAYER_CHATTER.test(event.message)) step(`${event.step}: ${event.message}`);
  };
  const base = await ensureBaseImage(docker, { onProgress });
  return { docker, base, stateDir: dir, onProgress };
}

/** A live per-environment build table when a person watches a terminal; undefined for pipes and --json. */
export function liveBuildDisplay(json: boolean): LiveBuildDisplay | undefined {
  return process.stdout.isTTY && !json ? new LiveBuildDisplay(process.stdout) : undefined;
}
