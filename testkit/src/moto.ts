import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { connectDocker, ensureBootstrappedImage, type BootstrappedImage } from '@katapult/images';
import { freePort } from './free-port.js';
import { startProcess } from './managed-process.js';

const run = promisify(execFile);

/** moto 5 from Debian trixie; debootstrap resolves no virtual packages, hence python3-cffi-backend named. */
export const MOTO_IMAGE = {
  repository: 'katapult/moto',
  suite: 'trixie',
  packages: ['python3-moto', 'python3-cffi-backend', 'python3-flask', 'python3-flask-cors', 'python3-werkzeug', 'python3-yaml'],
} as const;

export interface MotoServer {
  /** http://127.0.0.1:PORT, for AWS_ENDPOINT_URL: one endpoint serves every AWS service moto emulates. */
  url: string;
  port: number;
  /** Its container's name. */
  container: string;
  /** The image it runs, and whether it was bootstrapped by this call (with how long that took). */
  image: BootstrappedImage;
  /** Empties every service's state. */
  reset(): Promise<void>;
  /** Stops the server and removes its container. */
  stop(): Promise<void>;
}

async function answers(url: string): Promise<boolean> {
  try {
    const response = await fetch(`${url}/moto-api/`, { signal: AbortSignal.timeout(2_000) });
    await response.arrayBuffer();
    return response.ok;
  } catch {
    return false;
  }
}

/**
 * Starts moto_server (an AWS API emulator: EC2, IAM, ECR, ...) on 127.0.0.1 with a free port, in a container on the
 * host network, from an image bootstrapped once from Debian trixie and cached by its content tag (no image
 * can be pulled here, and trixie's packages are not installed on the host). The container reads stdin and stops
 * when it closes, so a test process that dies leaves no server behind.
 */
export async function startMoto(options: { onProgress?: (line: string) => void } = {}): Promise<MotoServer> {
  const docker = connectDocker();
  const image = await ensureBootstrappedImage(docker, {
    ...MOTO_IMAGE,
    onProgress: (event) => options.onProgress?.(event.message),
  });
  const port = await freePort();
  const name = `katapult-moto-${port}-${process.pid}`;
  const url = `http://127.0.0.1:${port}`;
  const script = 'moto_server -H 127.0.0.1 -p "$1" & server=$!; cat >/dev/null; kill "$server"; wait "$server"';
  const proc = startProcess(
    'docker',
    ['run', '--rm', '-i', '--network', 'host', '--name', name, '--label', 'katapult-test=moto', image.ref, 'sh', '-c', script, 'moto', String(port)],
    { stdinPipe: true },
  );
  const removeContainer = () => run('docker', ['rm', '-f', name]).then(() => undefined, () => undefined);
  try {
    await proc.waitReady(() => answers(url), `moto_server on 127.0.0.1:${port}`, 60_000);
  } catch (error) {
    await removeContainer();
    await proc.stop();
    throw error;
  }
  return {
    url,
    port,
    container: name,
    image,
    async reset() {
      const response = await fetch(`${url}/moto-api/reset`, { method: 'POST' });
      if (!response.ok) throw new Error(`moto reset answered HTTP ${response.status}`);
    },
    async stop() {
      await removeContainer();
      await proc.stop();
    },
  };
}
