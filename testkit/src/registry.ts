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

async function answersV2(url: string): Promise<boolean> {
  try {
    const response = await fetch(`${url}/v2/`, { signal: AbortSignal.timeout(1_000) });
    return response.status === 200;
  } catch {
    return false;
  }
}

/** Starts a distribution v2 registry (docker-registry) on 127.0.0.1 with a random port. */
export async function startRegistry(): Promise<RegistryServer> {
  const port = await freePort();
  const dir = await tempDir('registry');
  const configPath = join(dir, 'config.yml');
  await writeFile(configPath, registryConfig(join(dir, 'data'), port));
  const url = `http://127.0.0.1:${port}`;

  const proc = startProcess('docker-registry', ['serve', configPath]);
  try {
    await proc.waitReady(() => answersV2(url), `docker-registry on 127.0.0.1:${port}`);
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
