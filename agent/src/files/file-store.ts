import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { NatsConnection } from '@nats-io/transport-node';
import { Objm } from '@nats-io/obj';
import { getObject, putObject } from '@katapult/object-files';
import type { Assignment, ClusterNames } from '@katapult/core';

/** The agent's side of the cluster's object store: project files in, output archives out. */
export interface JobFileStore {
  /** A local path holding the object's bytes; each object is downloaded once per agent and checked against its name. */
  localCopy(object: string): Promise<string>;
  /** Where an attempt's output archive goes. */
  outputName(job: Pick<Assignment, 'runId' | 'jobId' | 'attempt'>): string;
  putArchive(name: string, archive: Readable): Promise<void>;
  delete(name: string): Promise<void>;
  /** True once the connection was closed on purpose. */
  closed(): boolean;
}

export async function openJobFileStore(nc: NatsConnection, names: ClusterNames, cacheDir: string): Promise<JobFileStore> {
  const store = await new Objm(nc).open(names.fileStore);
  await mkdir(cacheDir, { recursive: true });
  const downloads = new Map<string, Promise<string>>();
  return {
    localCopy(object) {
      let download = downloads.get(object);
      if (!download) {
        download = downloadVerified(nc, names.fileStore, object, cacheDir);
        downloads.set(object, download);
        download.catch(() => downloads.delete(object));
      }
      return download;
    },
    outputName: (job) => names.outputObject(job.runId, job.jobId, job.attempt),
    async putArchive(name, archive) {
      await putObject(nc, names.fileStore, name, archive);
    },
    async delete(name) {
      await store.delete(name);
    },
    closed: () => nc.isClosed(),
  };
}

async function downloadVerified(nc: NatsConnection, bucket: string, object: string, cacheDir: string): Promise<string> {
  const path = join(cacheDir, object);
  if (await stat(path).then(() => true, () => false)) return path;
  const result = await getObject(nc, bucket, object);
  if (!result) throw new Error(`file ${object} is not in the object store`);
  const partial = `${path}.part`;
  const hash = createHash('sha256');
  result.data.on('data', (chunk: Buffer) => hash.update(chunk));
  await pipeline(result.data, createWriteStream(partial));
  if (`sha256-${hash.digest('hex')}` !== object) {
    await rm(partial, { force: true });
    throw new Error(`file ${object} arrived corrupted (its content does not match its name)`);
  }
  await rename(partial, path);
  return path;
}
