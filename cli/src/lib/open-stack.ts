import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { checkDocker, connectDocker, ensureBaseImage, type OnProgress } from '@katapult/images';
import type Docker from 'dockerode';
import type { RunSpec } from '@katapult/core/light';
import { ensureInfrastructure } from './local-stack.js';
import type { StackExposure } from './stack-file.js';
import type { BuildContext } from './prepare-images.js';
import { stateDir } from './state-dir.js';
import { LiveBuildDisplay } from '../render/build-progress.js';
import { StepProgress, type ProgressMode } from '../render/step-progress.js';

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
export async function openStack(step: (message: string) => void, dir = stateDir(), exposure?: StackExposure, progress?: OnProgress): Promise<BuildContext> {
  const docker = connectDocker();
  await checkDocker(docker);
  const stack = await ensureInfrastructure(dir, step, exposure);
  return { ...(await withBaseImage(docker, step, dir, progress)), stack };
}

/**
 * For `maestro: remote`, where NATS and the coordinator run on the maestro: Docker checked and the base image
 * resolved, to build the images here; nothing started on this machine.
 */
export async function openBuildContext(step: (message: string) => void, dir = stateDir(), progress?: OnProgress): Promise<BuildContext> {
  const docker = connectDocker();
  await checkDocker(docker);
  return withBaseImage(docker, step, dir, progress);
}

async function withBaseImage(docker: Docker, step: (message: string) => void, dir: string, progress?: OnProgress): Promise<BuildContext> {
  const onProgress: OnProgress =
    progress ??
    ((event) => {
      if (!LAYER_CHATTER.test(event.message)) step(`${event.step}: ${event.message}`);
    });
  const base = await ensureBaseImage(docker, { onProgress });
  return { docker, base, stateDir: dir, onProgress };
}

/**
 * How `build` and `launch` show their progress: every line with --verbose (or KATAPULT_VERBOSE=1), one live line
 * per step on a terminal, one line per step otherwise; the image tools' full output goes to <state>/builds/images.log.
 */
export function stepProgress(options: { json: boolean; verbose: boolean; log: (line: string) => void; dir?: string }): StepProgress {
  const verbose = options.verbose || process.env['KATAPULT_VERBOSE'] === '1';
  const mode: ProgressMode = verbose ? 'verbose' : process.stdout.isTTY && !options.json ? 'live' : 'lines';
  const folder = join(options.dir ?? stateDir(), 'builds');
  const path = join(folder, 'images.log');
  let opened = false;
  return new StepProgress({
    mode,
    write: mode === 'live' ? (text) => process.stdout.write(text) : (text) => options.log(text.replace(/\n$/, '')),
    log: {
      path,
      write: (line) => {
        if (!opened) {
          mkdirSync(folder, { recursive: true });
          appendFileSync(path, `--- ${new Date().toISOString()} katapult ${process.argv.slice(2).join(' ')}\n`);
          opened = true;
        }
        appendFileSync(path, `${line}\n`);
      },
    },
    columns: () => process.stdout.columns || 80,
  });
}

/** A live per-environment build table when a person watches a terminal; undefined for pipes and --json. */
export function liveBuildDisplay(json: boolean): LiveBuildDisplay | undefined {
  return process.stdout.isTTY && !json ? new LiveBuildDisplay(process.stdout) : undefined;
}
