import { spawn } from 'node:child_process';
import { access, constants, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import type Docker from 'dockerode';
import { ImageError } from './errors.js';
import { parseImageRef } from './image-ref.js';
import { followJsonStream, streamError } from './json-stream.js';
import type { OnProgress } from './progress.js';
import { runCommand } from './run-command.js';

async function findExecutable(name: string): Promise<string | undefined> {
  // debootstrap lives in /usr/sbin, which is often missing from PATH.
  const dirs = [...(process.env['PATH'] ?? '').split(delimiter), '/usr/sbin', '/sbin'];
  for (const dir of dirs.filter((d) => d.length > 0)) {
    const candidate = join(dir, name);
    if (
      await access(candidate, constants.X_OK).then(
        () => true,
        () => false,
      )
    )
      return candidate;
  }
  return undefined;
}

/** Checks the prerequisites of a bootstrap and returns the debootstrap path. */
export async function debootstrapPreflight(): Promise<string> {
  const path = await findExecutable('debootstrap');
  if (path === undefined) {
    throw new ImageError(
      'KP_IMAGE_BOOTSTRAP_UNAVAILABLE',
      'no base image could be pulled and debootstrap is not installed; run "sudo apt-get install debootstrap" and retry as root',
    );
  }
  if (process.getuid?.() !== 0) {
    throw new ImageError(
      'KP_IMAGE_BOOTSTRAP_UNAVAILABLE',
      'no base image could be pulled and bootstrapping one with debootstrap needs root; rerun as root (sudo) once to create it',
    );
  }
  return path;
}

/** Runs `debootstrap --variant=minbase` (with `include`d packages) into a fresh temp dir and returns that dir. */
export async function debootstrap(
  executable: string,
  suite: string,
  mirror: string,
  onProgress?: OnProgress,
  include: readonly string[] = [],
): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'katapult-rootfs-'));
  onProgress?.({ step: 'debootstrap', message: `debootstrap ${suite} from ${mirror} into ${dir}` });
  const includeArgs = include.length > 0 ? [`--include=${include.join(',')}`] : [];
  const result = await runCommand(executable, ['--variant=minbase', ...includeArgs, suite, dir, mirror], (line) =>
    onProgress?.({ step: 'debootstrap', message: line, detail: true }),
  );
  if (result.exitCode !== 0) {
    await removeRootfs(dir);
    const why = result.spawnError?.message ?? `exit code ${result.exitCode}`;
    const lines = result.tail.split('\n');
    const errors = lines.filter((line) => line.startsWith('E:'));
    const detail = (errors.length > 0 ? errors : lines.slice(-3)).join(' | ');
    throw new ImageError(
      'KP_IMAGE_BOOTSTRAP_FAILED',
      `debootstrap ${suite} from ${mirror} failed (${why}): ${detail} — check that the mirror is reachable, or pass another mirror`,
    );
  }
  return dir;
}

/** Streams `tar -C dir -c .` into the engine as a new image tagged `ref`; returns its id. */
export async function importRootfs(docker: Docker, dir: string, ref: string, onProgress?: OnProgress): Promise<string> {
  const { repo, tag } = parseImageRef(ref);
  onProgress?.({ step: 'import', message: `importing ${dir} as ${ref}` });
  const tar = spawn('tar', ['--numeric-owner', '-C', dir, '-c', '.'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let tarErrors = '';
  let bytes = 0;
  let reported = 0;
  tar.stdout.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
    // Every 8 MiB is often enough for a live byte count.
    if (bytes - reported >= 8 << 20) {
      reported = bytes;
      onProgress?.({ step: 'import', message: `${bytes} bytes sent`, detail: true, bytes });
    }
  });
  tar.stderr.on('data', (chunk: Buffer) => (tarErrors = (tarErrors + chunk.toString()).slice(-2000)));
  const tarExit = new Promise<number | null>((resolve) => {
    tar.once('error', () => resolve(null));
    tar.once('close', resolve);
  });
  const events = await followJsonStream(await docker.importImage(tar.stdout, { repo, tag }));
  const exitCode = await tarExit;
  const failure = events.map(streamError).find((message) => message !== undefined);
  if (exitCode !== 0 || failure !== undefined) {
    // An image built from a truncated archive must not be mistaken for a good one later.
    await docker
      .getImage(ref)
      .remove({ force: true })
      .catch(() => undefined);
    throw new ImageError(
      'KP_IMAGE_BOOTSTRAP_FAILED',
      `importing the bootstrapped root filesystem as ${ref} failed: ${failure ?? `tar exited with ${exitCode}: ${tarErrors.trim()}`}`,
    );
  }
  const id = events.map((e) => e.status).find((s) => s?.startsWith('sha256:'));
  return id ?? (await docker.getImage(ref).inspect()).Id;
}

async function mountsUnder(dir: string): Promise<string[]> {
  const table = await readFile('/proc/mounts', 'utf8').catch(() => '');
  return table
    .split('\n')
    .map((line) => line.split(' ')[1] ?? '')
    .filter((mountPoint) => mountPoint.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
}

/** Removes a bootstrapped tree, first detaching mounts (proc, sys) a killed debootstrap may leave in it. */
export async function removeRootfs(dir: string): Promise<void> {
  for (const mountPoint of await mountsUnder(dir)) await runCommand('umount', ['-l', mountPoint]);
  if ((await mountsUnder(dir)).length > 0) return; // never recurse into a live host filesystem
  await rm(dir, { recursive: true, force: true });
}
