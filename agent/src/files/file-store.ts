import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { pipeline } from 'node:stream/promises';
import type { NatsConnection } from '@nats-io/transport-node';
import { Objm, type ObjectStore } from '@nats-io/obj';
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
        download = downloadVerified(store, object, cacheDir);
        downloads.set(object, download);
        download.catch(() => downloads.delete(object));
      }
      return download;
    },
    outputName: (job) => names.outputObject(job.runId, job.jobId, job.attempt),
    async putArchive(name, archive) {
      await store.put({ name }, Readable.toWeb(archive) as ReadableStream<Uint8Array>);
    },
    async delete(name) {
      await store.delete(name);
    },
    closed: () => nc.isClosed(),
  };
}

async function downloadVerified(store: ObjectStore, object: string, cacheDir: string): Promise<string> {
  const path = join(cacheDir, object);
  if (await stat(path).then(() => true, () => false)) return path;
  const result = await store.get(object);
  if (!result) throw new Error(`file ${object} is not in the object store`);
  const partial = `${path}.part`;
  const hash = createHash('sha256');
  const data = Readable.fromWeb(result.data as WebReadableStream<Uint8Array>);
  data.on('data', (chunk: Buffer) => hash.update(chunk));
  await pipeline(data, createWriteStream(partial));
  const failure = await result.error;
  if (failure) throw failure;
  if (`sha256-${hash.digest('hex')}` !== object) {
    await rm(partial, { force: true });
    throw new Error(`file ${object} arrived corrupted (its content does not match its name)`);
  }
  await rename(partial, path);
  return path;
}
