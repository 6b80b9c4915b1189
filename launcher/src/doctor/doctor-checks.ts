import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { checkDocker, connectDocker } from '@katapult/images';
import { formatFreeBytes, lowDiskMessage } from '@katapult/core/light';
import { minFreeBytes, stateFolderSpace } from '../state/disk-space.js';
import { findBinary } from '../stack/find-binary.js';
import { readStack } from '../state/stack-file.js';
import { isAlive } from '../stack/processes.js';
import { StateFolder } from '../state/state-folder.js';

export type CheckStatus = 'ok' | 'warn' | 'fail';

/** One line of `katapult doctor`; only a check of something Katapult cannot work without returns fail. */
export interface CheckResult {
  name: string;
  status: CheckStatus;
  detail: string;
}

/** Finds an executable by name; tests give their own. */
export type LocateBinary = (name: string) => string | undefined;

const MIN_NATS = [2, 9] as const;
const VERSION_TIMEOUT_MS = 5_000;

export async function checkDockerEngine(env: NodeJS.ProcessEnv = process.env): Promise<CheckResult> {
  const name = 'docker';
  try {
    const docker = connectDocker(env);
    await checkDocker(docker);
    const { Version } = await docker.version();
    return { name, status: 'ok', detail: `engine ${Version} at ${env['DOCKER_HOST'] || 'unix:///var/run/docker.sock'}` };
  } catch (error) {
    return { name, status: 'fail', detail: firstLine(error) };
  }
}

/** `nats-server: v2.10.22` → [2, 10, 22]; undefined when there is no version in the text. */
export function parseVersion(text: string): number[] | undefined {
  const match = /v?(\d+)\.(\d+)(?:\.(\d+))?/.exec(text);
  return match
    ? match
        .slice(1)
        .filter((part) => part !== undefined)
        .map(Number)
    : undefined;
}

export function versionAtLeast(version: readonly number[], minimum: readonly number[]): boolean {
  for (let i = 0; i < minimum.length; i++) {
    const have = version[i] ?? 0;
    const want = minimum[i] ?? 0;
    if (have !== want) return have > want;
  }
  return true;
}

export async function checkNatsServer(locate: LocateBinary = findBinary): Promise<CheckResult> {
  const name = 'nats-server';
  const fix = 'install nats-server ≥ 2.9: apt-get install nats-server (or: pnpm run setup)';
  const path = locate(name);
  if (!path) return { name, status: 'fail', detail: `not installed — ${fix}` };
  const output = await commandOutput(path, ['--version']);
  const version = output === undefined ? undefined : parseVersion(output);
  if (!version) return { name, status: 'fail', detail: `${path} --version printed no version — ${fix}` };
  const shown = version.join('.');
  if (!versionAtLeast(version, MIN_NATS))
    return { name, status: 'fail', detail: `${shown} at ${path} is too old (JetStream needs ≥ 2.9) — ${fix}` };
  return { name, status: 'ok', detail: `${shown} at ${path}` };
}

export async function checkDockerRegistry(locate: LocateBinary = findBinary): Promise<CheckResult> {
  const name = 'docker-registry';
  const path = locate(name);
  if (path) return { name, status: 'ok', detail: path };
  return {
    name,
    status: 'fail',
    detail: 'not installed; the local registry needs it — apt-get install docker-registry (or: pnpm run setup)',
  };
}

export async function checkDebootstrap(locate: LocateBinary = findBinary): Promise<CheckResult> {
  const name = 'debootstrap';
  const path = locate(name);
  if (path) return { name, status: 'ok', detail: path };
  return {
    name,
    status: 'warn',
    detail: 'not installed; needed only when no Debian base image can be pulled — apt-get install debootstrap',
  };
}

export async function checkLocalStack(state: StateFolder): Promise<CheckResult> {
  const name = 'local stack';
  const stack = readStack(state);
  if (!stack) return { name, status: 'ok', detail: `not started — katapult launch starts it (state folder ${state.root})` };
  const servers: [string, { pid: number; port: number } | undefined][] = [
    ['nats-server', stack.nats],
    ['registry', stack.registry],
    // Stacks from before it had one have none; launch starts it.
    ...(stack.registryPull ? [['registry (read-only)', stack.registryPull] as [string, { pid: number; port: number }]] : []),
    ['coordinator', stack.coordinator],
  ];
  const down = servers.filter(([, record]) => !record || !isAlive(record.pid)).map(([server]) => server);
  if (down.length > 0)
    return {
      name,
      status: 'warn',
      detail: `${down.join(', ')} not running — katapult launch starts ${down.length === 1 ? 'it' : 'them'} again`,
    };
  return {
    name,
    status: 'ok',
    detail: `running: ${servers.map(([server, record]) => `${server} :${record!.port}`).join(', ')} (state folder ${state.root})`,
  };
}

/** Free space where the stack keeps its state (JetStream, images): fail below what it needs, warn under ten times that. */
export async function checkFreeSpace(state: StateFolder, env: NodeJS.ProcessEnv): Promise<CheckResult> {
  const name = 'free space';
  // The folder is made by the first launch; until then, the nearest folder above it that exists.
  let folder = state.root;
  while (!existsSync(folder) && dirname(folder) !== folder) folder = dirname(folder);
  const space = stateFolderSpace(new StateFolder(folder));
  if (!space) return { name, status: 'warn', detail: `cannot tell the free space of ${state.root}` };
  const needed = minFreeBytes(env);
  if (space.freeBytes < needed) return { name, status: 'fail', detail: `${lowDiskMessage(space, needed)} — free some space there` };
  const detail = `${formatFreeBytes(space.freeBytes)} free in ${space.folder}`;
  return {
    name,
    status: space.freeBytes < needed * 10 ? 'warn' : 'ok',
    detail: space.freeBytes < needed * 10 ? `${detail}; little left for JetStream and images` : detail,
  };
}

/** Looks only at what is configured here; AWS itself is never called. */
export async function checkAwsCredentials(env: NodeJS.ProcessEnv, home: string): Promise<CheckResult> {
  const name = 'aws credentials';
  if (env['AWS_ACCESS_KEY_ID']) return { name, status: 'ok', detail: 'AWS_ACCESS_KEY_ID is set' };
  if (env['AWS_PROFILE']) return { name, status: 'ok', detail: `profile ${env['AWS_PROFILE']} (AWS_PROFILE)` };
  const file = env['AWS_SHARED_CREDENTIALS_FILE'] || join(home, '.aws', 'credentials');
  if (existsSync(file)) return { name, status: 'ok', detail: file };
  return { name, status: 'warn', detail: 'none found; needed only for provider: aws / registry: ecr' };
}

export interface DoctorOptions {
  env: NodeJS.ProcessEnv;
  home: string;
  state: StateFolder;
  locate?: LocateBinary;
}

export async function runDoctorChecks(options: DoctorOptions): Promise<CheckResult[]> {
  const locate = options.locate ?? ((name: string) => findBinary(name, options.env));
  return Promise.all([
    checkDockerEngine(options.env),
    checkNatsServer(locate),
    checkDockerRegistry(locate),
    checkDebootstrap(locate),
    checkLocalStack(options.state),
    checkFreeSpace(options.state, options.env),
    checkAwsCredentials(options.env, options.home),
  ]);
}

function commandOutput(command: string, args: string[]): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: VERSION_TIMEOUT_MS }, (error, stdout, stderr) => resolve(error ? undefined : `${stdout}${stderr}`));
  });
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';
}
