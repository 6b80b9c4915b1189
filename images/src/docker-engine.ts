import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Docker from 'dockerode';
import { ImageError } from './errors.js';

const DEFAULT_SOCKET = '/var/run/docker.sock';
const endpoints = new WeakMap<Docker, string>();

function tcpOptions(dockerHost: string, env: NodeJS.ProcessEnv): Docker.DockerOptions {
  const url = new URL(dockerHost.replace(/^tcp:\/\//, 'http://'));
  const tls = (env['DOCKER_TLS_VERIFY'] ?? '') !== '' && env['DOCKER_TLS_VERIFY'] !== '0';
  const options: Docker.DockerOptions = {
    host: url.hostname,
    port: Number(url.port || (tls ? 2376 : 2375)),
    protocol: tls ? 'https' : 'http',
  };
  if (tls) {
    const certDir = env['DOCKER_CERT_PATH'] ?? join(env['HOME'] ?? '', '.docker');
    options.ca = readFileSync(join(certDir, 'ca.pem'));
    options.cert = readFileSync(join(certDir, 'cert.pem'));
    options.key = readFileSync(join(certDir, 'key.pem'));
  }
  return options;
}

/** A dockerode client for the engine named by DOCKER_HOST (unix:// or tcp://), else the default socket. */
export function connectDocker(env: NodeJS.ProcessEnv = process.env): Docker {
  const dockerHost = env['DOCKER_HOST'] || `unix://${DEFAULT_SOCKET}`;
  let options: Docker.DockerOptions;
  if (dockerHost.startsWith('unix://')) options = { socketPath: dockerHost.slice('unix://'.length) };
  else if (dockerHost.startsWith('tcp://')) options = tcpOptions(dockerHost, env);
  else {
    throw new ImageError(
      'KP_DOCKER_UNREACHABLE',
      `DOCKER_HOST=${dockerHost} is not supported; use unix:///path/to/docker.sock or tcp://host:port`,
    );
  }
  const docker = new Docker(options);
  endpoints.set(docker, dockerHost);
  return docker;
}

function describeEndpoint(docker: Docker): string {
  const known = endpoints.get(docker);
  if (known !== undefined) return known;
  const modem = docker.modem as { socketPath?: unknown; host?: unknown; port?: unknown };
  if (typeof modem.socketPath === 'string') return `unix://${modem.socketPath}`;
  if (typeof modem.host === 'string') return `tcp://${modem.host}:${String(modem.port ?? '')}`;
  return 'the configured endpoint';
}

/** Pings the engine; throws KP_DOCKER_UNREACHABLE with a one-line fix when it does not answer. */
export async function checkDocker(docker: Docker, timeoutMs = 5_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([docker.ping(), timeout]);
  } catch (error) {
    const reason = (error instanceof Error ? error.message : String(error)).split('\n')[0];
    throw new ImageError(
      'KP_DOCKER_UNREACHABLE',
      `cannot reach the Docker engine at ${describeEndpoint(docker)}: ${reason} — start it with "sudo dockerd &" (or "sudo systemctl start docker"), or set DOCKER_HOST`,
      { cause: error },
    );
  } finally {
    clearTimeout(timer);
  }
}
