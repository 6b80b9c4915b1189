import { describe, expect, it } from 'vitest';
import { checkDocker, connectDocker } from '../src/index.js';

describe('Docker engine connection', () => {
  it('reaches the local engine', async () => {
    await expect(checkDocker(connectDocker())).resolves.toBeUndefined();
  });

  it('fails with KP_DOCKER_UNREACHABLE and a fix when DOCKER_HOST points nowhere', async () => {
    const docker = connectDocker({ DOCKER_HOST: 'unix:///nonexistent.sock' });
    const failure = checkDocker(docker);
    await expect(failure).rejects.toMatchObject({ code: 'KP_DOCKER_UNREACHABLE' });
    await expect(failure).rejects.toThrow(/unix:\/\/\/nonexistent\.sock: .*ENOENT.*sudo dockerd &.*DOCKER_HOST/);
  });

  it('times out on a tcp endpoint that accepts nothing', async () => {
    const docker = connectDocker({ DOCKER_HOST: 'tcp://127.0.0.1:1' });
    await expect(checkDocker(docker, 2_000)).rejects.toThrow(/tcp:\/\/127\.0\.0\.1:1: .*ECONNREFUSED/);
  });

  it('rejects DOCKER_HOST schemes it cannot use', () => {
    expect(() => connectDocker({ DOCKER_HOST: 'npipe:////./pipe/docker_engine' })).toThrow(
      expect.objectContaining({ code: 'KP_DOCKER_UNREACHABLE' }),
    );
  });
});
