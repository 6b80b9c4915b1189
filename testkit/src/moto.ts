import { execFile } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { connectDocker, ensureBootstrappedImage, type BootstrappedImage } from '@katapult/images';
import { freePort } from './free-port.js';
import { startProcess } from './managed-process.js';
import { tempDir } from './temp-dir.js';

const run = promisify(execFile);

/** moto 5 from Debian trixie; debootstrap resolves no virtual packages, hence python3-cffi-backend named. */
export const MOTO_IMAGE = {
  repository: 'katapult/moto',
  suite: 'trixie',
  packages: ['python3-moto', 'python3-cffi-backend', 'python3-flask', 'python3-flask-cors', 'python3-werkzeug', 'python3-yaml'],
} as const;

/** An AMI moto knows (moto's amis.json form). */
export interface MotoAmi {
  ami_id: string;
  name: string;
  owner_id: string;
  architecture: 'x86_64' | 'arm64';
  creation_date: string;
  root_device_name?: string;
}

/**
 * The AMIs moto serves by default here: Debian 12 images as the Debian cloud team publishes them (what Katapult
 * picks when no image is configured; an older one too, so "the latest" is tested), and one other.
 */
export const MOTO_AMIS: readonly MotoAmi[] = [
  {
    ami_id: 'ami-0de12a0000000001',
    name: 'debian-12-amd64-20250101-1000',
    owner_id: '136693071363',
    architecture: 'x86_64',
    creation_date: '2025-01-01T10:00:00.000Z',
  },
  {
    ami_id: 'ami-0de12a0000000002',
    name: 'debian-12-amd64-20250601-1100',
    owner_id: '136693071363',
    architecture: 'x86_64',
    creation_date: '2025-06-01T11:00:00.000Z',
  },
  {
    ami_id: 'ami-0de12b0000000001',
    name: 'debian-12-arm64-20250601-1100',
    owner_id: '136693071363',
    architecture: 'arm64',
    creation_date: '2025-06-01T11:00:00.000Z',
  },
  {
    ami_id: 'ami-0a1a000000000001',
    name: 'al2023-ami-2023.6-x86_64',
    owner_id: '137112412989',
    architecture: 'x86_64',
    creation_date: '2025-05-01T00:00:00.000Z',
  },
];

export interface StartMotoOptions {
  onProgress?: (line: string) => void;
  /** The AMIs moto serves (instead of its own list). Default MOTO_AMIS. */
  amis?: readonly MotoAmi[];
}

/** A request moto received, as its recorder kept it. */
export interface MotoRequest {
  /** The service the request was signed for: ec2, iam, ecr, ... */
  service: string;
  /** The query protocol's Action (EC2, IAM), or the JSON protocol's X-Amz-Target operation (ECR). */
  action: string;
  /** The query protocol's parameters (`BlockDeviceMapping.1.Ebs.VolumeSize` ...); empty for other protocols. */
  params: Record<string, string>;
  /** The body as sent. */
  body: string;
}

interface RecordedRequest {
  headers: Record<string, string>;
  body: string | null;
  body_encoded?: boolean;
}

function decodeRecorded(entry: RecordedRequest): MotoRequest {
  const body = entry.body === null ? '' : entry.body_encoded ? Buffer.from(entry.body, 'base64').toString('utf8') : entry.body;
  const header = (name: string) => Object.entries(entry.headers).find(([key]) => key.toLowerCase() === name)?.[1] ?? '';
  const service = /Credential=[^/]+\/[^/]+\/[^/]+\/([^/]+)\//.exec(header('authorization'))?.[1] ?? '';
  const target = header('x-amz-target');
  const query = header('content-type').startsWith('application/x-www-form-urlencoded') ? Object.fromEntries(new URLSearchParams(body)) : {};
  return { service, action: query['Action'] ?? target.split('.').at(-1) ?? '', params: query, body };
}

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
  /** Every request moto has received so far (its recorder, on from the start), in order. */
  requests(): Promise<MotoRequest[]>;
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
export async function startMoto(options: StartMotoOptions = {}): Promise<MotoServer> {
  const docker = connectDocker();
  const image = await ensureBootstrappedImage(docker, {
    ...MOTO_IMAGE,
    onProgress: (event) => options.onProgress?.(event.message),
  });
  const port = await freePort();
  const name = `katapult-moto-${port}-${process.pid}`;
  const url = `http://127.0.0.1:${port}`;
  const dir = await tempDir('moto');
  const amisFile = join(dir, 'amis.json');
  const amis = (options.amis ?? MOTO_AMIS).map((ami) => ({
    state: 'available',
    public: true,
    root_device_type: 'ebs',
    root_device_name: '/dev/xvda',
    virtualization_type: 'hvm',
    hypervisor: 'xen',
    image_type: 'machine',
    sriov: 'simple',
    ...ami,
  }));
  await writeFile(amisFile, JSON.stringify(amis));
  const script = 'moto_server -H 127.0.0.1 -p "$1" & server=$!; cat >/dev/null; kill "$server"; wait "$server"';
  const proc = startProcess(
    'docker',
    [
      'run',
      '--rm',
      '-i',
      '--network',
      'host',
      '--name',
      name,
      '--label',
      'katapult-test=moto',
      '-v',
      `${amisFile}:/moto-amis.json:ro`,
      '-e',
      'MOTO_AMIS_PATH=/moto-amis.json',
      '-e',
      'MOTO_ENABLE_RECORDING=True',
      image.ref,
      'sh',
      '-c',
      script,
      'moto',
      String(port),
    ],
    { stdinPipe: true },
  );
  const removeContainer = async () => {
    await run('docker', ['rm', '-f', name]).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  };
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
    async requests() {
      const response = await fetch(`${url}/moto-api/recorder/download-recording`);
      if (!response.ok) throw new Error(`moto's recorder answered HTTP ${response.status}`);
      const lines = (await response.text()).split('\n').filter((line) => line.trim().length > 0);
      return lines.map((line) => decodeRecorded(JSON.parse(line) as RecordedRequest));
    },
    async stop() {
      await removeContainer();
      await proc.stop();
    },
  };
}
