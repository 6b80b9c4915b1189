import { checkDocker, connectDocker, ensureBaseImage, type OnProgress } from '@katapult/images';
import type Docker from 'dockerode';
import type { RunSpec } from '@katapult/core/light';
import { ensureInfrastructure } from './local-stack.js';
import type { StackExposure } from '../state/stack-file.js';
import type { BuildContext } from '../launch/prepare-images.js';
import { StateFolder } from '../state/state-folder.js';
import type { OnLaunchEvent } from '../launch/launch-events.js';

/** With `provider: aws` and `maestro: local`, the instances dial back to this machine's NATS at maestro_address. */
export function exposureFor(spec: Pick<RunSpec, 'provider' | 'maestroAddress'>): StackExposure | undefined {
  return spec.provider === 'aws' && spec.maestroAddress ? { address: spec.maestroAddress } : undefined;
}

/**
 * What `build` and `launch` do once the config is read: check Docker, start NATS (reachable by instances
 * elsewhere when `exposure` says so) and the registry, resolve the base image.
 */
export async function openStack(emit: OnLaunchEvent, state = StateFolder.fromEnv(), exposure?: StackExposure): Promise<BuildContext> {
  const docker = connectDocker();
  await checkDocker(docker);
  const stack = await ensureInfrastructure(state, (step) => emit({ type: 'step', step }), exposure);
  return { ...(await withBaseImage(docker, emit, state)), stack };
}

/**
 * For `maestro: remote`, where NATS and the coordinator run on the maestro: Docker checked and the base image
 * resolved, to build the images here; nothing started on this machine.
 */
export async function openBuildContext(emit: OnLaunchEvent, state = StateFolder.fromEnv()): Promise<BuildContext> {
  const docker = connectDocker();
  await checkDocker(docker);
  return withBaseImage(docker, emit, state);
}

async function withBaseImage(docker: Docker, emit: OnLaunchEvent, state: StateFolder): Promise<BuildContext> {
  const onProgress: OnProgress = (progress) => emit({ type: 'image', progress });
  const base = await ensureBaseImage(docker, { onProgress });
  return { docker, base, state, onProgress };
}
