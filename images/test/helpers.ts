import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import type Docker from 'dockerode';

const exec = promisify(execFile);

/** `docker run --rm image ...args` through the CLI, as a user would; returns stdout. */
export async function dockerRun(image: string, args: readonly string[] = []): Promise<string> {
  const { stdout } = await exec('docker', ['run', '--rm', image, ...args], { timeout: 60_000 });
  return stdout;
}

export function uniqueSuffix(): string {
  return `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

export async function removeImage(docker: Docker, ref: string): Promise<void> {
  await docker
    .getImage(ref)
    .remove({ force: true })
    .catch(() => undefined);
}
