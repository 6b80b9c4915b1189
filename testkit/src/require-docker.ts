import { request, type RequestOptions } from 'node:http';

function pingTarget(dockerHost: string): RequestOptions {
  if (dockerHost.startsWith('unix://')) return { socketPath: dockerHost.slice('unix://'.length) };
  const url = new URL(dockerHost.replace(/^tcp:\/\//, 'http://'));
  return { host: url.hostname, port: Number(url.port || 2375) };
}

/**
 * Throws unless the Docker engine answers GET /_ping. Integration tests call this first
 * so that a missing daemon fails the suite loudly instead of skipping it.
 */
export async function requireDocker(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const dockerHost = env['DOCKER_HOST'] || 'unix:///var/run/docker.sock';
  const failure = (reason: string): Error =>
    Object.assign(
      new Error(
        `Docker is required for these tests but ${dockerHost} did not answer (${reason}); ` +
          'start it with "sudo dockerd &" or set DOCKER_HOST',
      ),
      { code: 'KP_DOCKER_UNREACHABLE' },
    );
  await new Promise<void>((resolve, reject) => {
    const req = request({ ...pingTarget(dockerHost), path: '/_ping', method: 'GET', timeout: 5_000 }, (res) => {
      res.resume();
      if (res.statusCode === 200) resolve();
      else reject(failure(`HTTP ${res.statusCode}`));
    });
    req.once('timeout', () => req.destroy(new Error('timed out after 5 s')));
    req.once('error', (error) => reject(failure(error.message)));
    req.end();
  });
}
