import Docker from 'dockerode';
import * as tar from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pushImage } from '@katapult/images';
import { requireDocker, startRegistry, type RegistryServer } from '@katapult/testkit';
import { imagePuller, type RegistryAuthSource, type RegistryCredentials } from '../src/index.js';

// `htpasswd -Bbn katapult pull-secret` (apache2-utils), made once so the test needs no bcrypt at run time.
const USER = 'katapult';
const PASSWORD = 'pull-secret';
const HTPASSWD = 'katapult:$2y$05$qSmKnCn2udYh0QPqEPe1O.G.6MZuuft1pJ.US1TGAJ4oIgle6xiGe';

/** Hands out `passwords` in turn, the next one on each refresh; records what it was asked. */
function staticSource(host: string, passwords: string[]): RegistryAuthSource & { asked: boolean[] } {
  let index = 0;
  const asked: boolean[] = [];
  return {
    kind: 'test credentials',
    asked,
    async credentials(options = {}): Promise<RegistryCredentials> {
      asked.push(options.refresh === true);
      if (options.refresh) index = Math.min(index + 1, passwords.length - 1);
      return { username: USER, password: passwords[index]!, serveraddress: host };
    },
  };
}

/**
 * Pulls on the real Docker engine from a real registry that asks for basic auth. Docker resolves registry
 * hosts itself, so an ECR-shaped name cannot point here: the auth source is injected for 127.0.0.1:PORT,
 * the ECR token source is checked against a mock in registry-auth.test.ts.
 */
describe('pulling from a registry that needs credentials', () => {
  const docker = new Docker();
  let registry: RegistryServer;
  let image: string;
  const localRef = `katapult-test/pull-auth:${process.pid}-${Date.now()}`;

  const removeLocal = () =>
    docker
      .getImage(image)
      .remove({ force: true })
      .catch(() => undefined);
  const pulled = () =>
    docker
      .getImage(image)
      .inspect()
      .then(
        () => true,
        () => false,
      );

  beforeAll(async () => {
    await requireDocker();
    registry = await startRegistry({ htpasswd: HTPASSWD });
    // A one-file image, unique per run, keeps push and pull quick.
    const archive = tar.pack();
    archive.entry({ name: 'hello.txt' }, `hello ${localRef}\n`);
    archive.finalize();
    const [repo, tag] = localRef.split(':');
    await new Promise<void>((resolve, reject) => {
      // tar-stream's pack is a streamx stream, which dockerode reads like a Node one.
      void docker
        .importImage(archive as unknown as NodeJS.ReadableStream, { repo, tag })
        .then((stream) => docker.modem.followProgress(stream, (error: Error | null) => (error ? reject(error) : resolve())), reject);
    });
    image = `${registry.host}/katapult/env:auth-test`;
    await pushImage(docker, localRef, image, undefined, { username: USER, password: PASSWORD });
  });
  afterAll(async () => {
    if (image) await removeLocal();
    await docker
      .getImage(localRef)
      .remove({ force: true })
      .catch(() => undefined);
    await registry?.stop();
  });

  it('fails without credentials, naming the image and what the registry said', async () => {
    await removeLocal();
    const failure = imagePuller(() => undefined)(docker, image);
    await expect(failure).rejects.toMatchObject({ code: 'KP_PULL_FAILED' });
    await expect(failure).rejects.toThrow(new RegExp(`^KP_PULL_FAILED: pulling ${image} failed: .*no basic auth credentials`));
    expect(await pulled()).toBe(false);
  });

  it('succeeds with them: the credentials reach the engine', async () => {
    await removeLocal();
    const source = staticSource(registry.host, [PASSWORD]);
    await imagePuller((host) => (host === registry.host ? source : undefined))(docker, image);
    expect(await pulled()).toBe(true);
    expect(source.asked).toEqual([false]);
  });

  it('gets fresh credentials once when the registry refuses the first ones, then pulls', async () => {
    await removeLocal();
    const source = staticSource(registry.host, ['stale-token', PASSWORD]);
    await imagePuller(() => source)(docker, image);
    expect(await pulled()).toBe(true);
    expect(source.asked).toEqual([false, true]);
  });

  it('gives up with KP_PULL_AUTH when even fresh credentials are refused', async () => {
    await removeLocal();
    const source = staticSource(registry.host, ['wrong', 'still-wrong']);
    const failure = imagePuller(() => source)(docker, image);
    await expect(failure).rejects.toThrow(
      new RegExp(`^KP_PULL_AUTH: ${registry.host} refused the credentials for ${image}, even fresh ones: `),
    );
    expect(source.asked).toEqual([false, true]);
    expect(await pulled()).toBe(false);
  });
});
