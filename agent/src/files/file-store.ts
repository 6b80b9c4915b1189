import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline, Transform, type Readable } from 'node:stream';
import type { NatsConnection } from '@nats-io/transport-node';
import { digestOfContentName, putSubjectFile, readGrantedObject, readGrantedSubjectFile } from '@katapult/object-files';
import { storeLimitMessage, type Assignment, type ClusterNames } from '@katapult/core';
import { readGrantAsker, type AskReadGrant, type AttemptOf } from './read-grants.js';

/**
 * The agent's side of the cluster's object store: project files in, output archives out. Inputs are read for an
 * attempt, through a read the coordinator grants for it (read-grants.ts): this agent can read no other.
 */
export interface JobFileStore {
  /**
   * The object's bytes, checked against its name (sha256-<hex>): from this agent's cache, or from the object
   * store while they are written into the cache. So a file shared by many jobs is downloaded once per agent,
   * and the first job's staging goes on while it downloads instead of after. The stream fails if the bytes do
   * not match their name; nothing is cached then.
   */
  open(object: string, attempt: AttemptOf): Promise<Readable>;
  /** An attempt's output archive (not content-addressed, so not cached): the inputs of a job that takes them from it. */
  openArchive(name: string, attempt: AttemptOf): Promise<Readable>;
  /** Where an attempt's output archive goes: a subject of the outputs stream under this agent's id. */
  outputName(job: Pick<Assignment, 'runId' | 'jobId' | 'attempt'>): string;
  putArchive(name: string, archive: Readable): Promise<void>;
  /** True once the connection was closed on purpose. */
  closed(): boolean;
}

export async function openJobFileStore(
  nc: NatsConnection,
  names: ClusterNames,
  agentId: string,
  cacheDir: string,
  ask: AskReadGrant = readGrantAsker(nc, names, agentId),
): Promise<JobFileStore> {
  await mkdir(cacheDir, { recursive: true });
  /**
   * The input's bytes, from a grant for `attempt`: an output archive on its subject, or an object of the file
   * store, with the digest (its description's) they are checked against as they are read.
   */
  const read = async (object: string, attempt: AttemptOf): Promise<GrantedRead> => {
    const grant = await ask(attempt, object);
    const again = (after: number) => ask(attempt, object, after);
    if (names.isOutputSubject(object)) return { data: readGrantedSubjectFile(nc, object, grant, again) };
    return { data: readGrantedObject(nc, object, grant, again), digest: grant.digest };
  };
  // Objects being downloaded, each settling once it is in the cache (or is not, after a failure).
  const downloads = new Map<string, Promise<void>>();
  const open = (object: string, attempt: AttemptOf): Promise<Readable> => {
    const path = join(cacheDir, object);
    const pending = downloads.get(object);
    // A job waiting for another's download reads the cache once it is there, or downloads it again itself.
    if (pending)
      return pending.then(
        () => readCached(path),
        () => open(object, attempt),
      );
    if (existsSync(path)) return Promise.resolve(readCached(path));
    const started = downloadThrough(() => read(object, attempt), object, path);
    const cached = started.then((download) => download.cached);
    downloads.set(object, cached);
    cached.then(
      () => downloads.delete(object),
      () => downloads.delete(object),
    );
    return started.then((download) => download.data);
  };
  return {
    open,
    // Outputs stored before the outputs stream are objects of the file store.
    openArchive: async (name, attempt) => (await read(name, attempt)).data,
    outputName: (job) => names.outputSubject(agentId, job.runId, job.jobId, job.attempt),
    async putArchive(name, archive) {
      try {
        await putSubjectFile(nc, name, archive);
      } catch (error) {
        // Shown in the job's log: nats-server's "maximum bytes exceeded" does not say which stream is full.
        const full = storeLimitMessage(names.streams.outputs, error);
        throw full ? new Error(full) : error;
      }
    },
    closed: () => nc.isClosed(),
  };
}

// A cached file is read as it was stored, a MiB at a time: 16 times fewer reads than the default 64 KiB.
const readCached = (path: string): Readable => createReadStream(path, { highWaterMark: 1 << 20 });

interface GrantedRead {
  data: Readable;
  /** `SHA-256=<base64url, padded>`: what the bytes were checked against by the time `data` ends. */
  digest?: string | undefined;
}

// The cache file's write buffer: the bytes go on to the job's staging while they are written, and only a cache
// this far behind holds them up (memory stays bounded whatever the file's size).
const CACHE_BEHIND_BYTES = 8 << 20;

/**
 * The object's bytes as they arrive, written into `path` too, where they land only once checked in full. They are
 * hashed once, by the read (against the digest of the object's description); the digest must then be the one its
 * name gives.
 */
async function downloadThrough(
  read: () => Promise<GrantedRead>,
  object: string,
  path: string,
): Promise<{ data: Readable; cached: Promise<void> }> {
  const { data, digest } = await read();
  const partial = `${path}.${randomUUID()}.part`;
  const file = createWriteStream(partial, { highWaterMark: CACHE_BEHIND_BYTES });
  let settle: (error?: Error | null) => void = () => undefined;
  const cached = new Promise<void>((resolve, reject) => {
    settle = (error) => (error ? reject(error) : resolve());
  });
  // Whoever stages the file reads the bytes; nobody waits on `cached` failing, so its rejection must not go unhandled.
  cached.catch(() => undefined);
  const through = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      // A failed read destroys the cache file (below) while chunks before the failure may still come through: they go on uncached.
      if (file.destroyed) return callback(null, chunk);
      if (file.write(chunk)) callback(null, chunk);
      else file.once('drain', () => callback(null, chunk));
    },
    flush(callback) {
      file.end(() => {
        if (digest !== digestOfContentName(object)) {
          const corrupted = new Error(`file ${object} arrived corrupted (its content does not match its name)`);
          rm(partial, { force: true }).then(
            () => callback(corrupted),
            () => callback(corrupted),
          );
          return;
        }
        rename(partial, path).then(() => callback(), callback);
      });
    },
  });
  // Destroyed on purpose (a failed read) while a write is in flight, an fs stream still emits "Cannot call write
  // after a stream was destroyed": that error is not the read's, and must not take its place.
  let abandoned = false;
  const abandon = () => {
    abandoned = true;
    file.destroy();
  };
  file.on('error', (error) => {
    if (!abandoned) through.destroy(error);
  });
  // A read that fails (corrupted bytes, NATS gone) fails the staging only once its partial copy is gone, so
  // nothing is left behind whoever looks when the job has failed.
  const bytes = async function* (): AsyncGenerator<Buffer> {
    try {
      for await (const chunk of data) yield chunk as Buffer;
    } catch (error) {
      abandon();
      await rm(partial, { force: true }).catch(() => undefined);
      throw error;
    }
  };
  pipeline(bytes, through, (error) => {
    if (!error) return settle(null);
    abandon();
    // Settled once the partial copy is gone, so a job downloading again never finds it.
    const done = () => settle(error);
    rm(partial, { force: true }).then(done, done);
  });
  return { data: through, cached };
}
