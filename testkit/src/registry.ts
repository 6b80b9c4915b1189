import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { registryConfig } from '@katapult/images';
import { freePort } from './free-port.js';
import { startProcess } from './managed-process.js';
import { tempDir } from './temp-dir.js';

export interface RegistryServer {
  /** http://127.0.0.1:PORT */
  url: string;
  /** 127.0.0.1:PORT, the form used in image references. */
  host: string;
  port: number;
  /** Stops the registry and removes its storage. */
  stop(): Promise<void>;
}

export interface StartRegistryOptions {
  /**
   * An htpasswd line (`user:<bcrypt hash>`, as `htpasswd -Bbn user password` prints it): the registry then asks
   * for basic auth (distribution's htpasswd access controller) on every request, pulls included.
   */
  htpasswd?: string;
}

async function answersV2(url: string, auth: boolean): Promise<boolean> {
  try {
    const response = await fetch(`${url}/v2/`, { signal: AbortSignal.timeout(1_000) });
    return response.status === 200 || (auth && response.status === 401);
  } catch {
    return false;
  }
}

/** Starts a distribution v2 registry (docker-registry) on 127.0.0.1 with a random port. */
export async function startRegistry(options: StartRegistryOptions = {}): Promise<RegistryServer> {
  const port = await freePort();
  const dir = await tempDir('registry');
  const configPath = join(dir, 'config.yml');
  let config = registryConfig(join(dir, 'data'), port);
  if (options.htpasswd !== undefined) {
    const htpasswdPath = join(dir, 'htpasswd');
    await writeFile(htpasswdPath, `${options.htpasswd}\n`);
    config += ['auth:', '  htpasswd:', '    realm: katapult-test', `    path: ${htpasswdPath}`, ''].join('\n');
  }
  await writeFile(configPath, config);
  const url = `http://127.0.0.1:${port}`;

  const proc = startProcess('docker-registry', ['serve', configPath]);
  try {
    await proc.waitReady(() => answersV2(url, options.htpasswd !== undefined), `docker-registry on 127.0.0.1:${port}`);
  } catch (error) {
    await proc.stop();
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    url,
    host: `127.0.0.1:${port}`,
    port,
    async stop() {
      await proc.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
