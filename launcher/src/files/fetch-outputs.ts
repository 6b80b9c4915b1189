import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import { getObject, getSubjectFile } from '@katapult/object-files';
import * as tar from 'tar-stream';
import { checkRelativePath, ExitCode, isFinal, KatapultError, type ClusterNames, type JobState, type RunView } from '@katapult/core/light';

export interface FetchedJob {
  job: string;
  state: JobState;
  /** Where its files went: OUT/<run>/<job>. */
  folder: string;
  files: string[];
  /** Output files it did not write (all of them while it has not ended). */
  missing: string[];
}

/** Every job of the run that names output_files, its archive (if any yet) unpacked into OUT/<run>/<job>/. */
export async function fetchRunOutputs(nc: NatsConnection, names: ClusterNames, run: RunView, out: string): Promise<FetchedJob[]> {
  const jobs: FetchedJob[] = [];
  for (const job of run.jobs) {
    if (job.outputFiles.length === 0) continue;
    const folder = join(out, run.id, job.id);
    const files = job.outputs?.object ? await fetchOutputArchive(nc, names, job.outputs.object, folder) : [];
    const missing = job.outputs?.missing ?? (isFinal(job.state) ? job.outputFiles : []);
    jobs.push({ job: job.id, state: job.state, folder, files, missing });
  }
  return jobs;
}

/**
 * Writes one job's output archive into `into`, keeping the paths the job wrote them at. An entry that would land
 * outside `into`, or is anything but a file or a folder, is skipped: the archive came from a job, not from us.
 */
export async function fetchOutputArchive(nc: NatsConnection, names: ClusterNames, object: string, into: string): Promise<string[]> {
  // Outputs stored before the outputs stream are objects of the file store.
  const data = names.isOutputSubject(object)
    ? await getSubjectFile(nc, names.streams.outputs, object)
    : (await getObject(nc, names.fileStore, object))?.data;
  if (!data) {
    throw new KatapultError('KP_OUTPUTS_GONE', `the outputs ${object} are no longer stored`, { exitCode: ExitCode.infrastructure });
  }
  const root = resolve(into);
  await mkdir(root, { recursive: true });
  const written: string[] = [];
  const extract = tar.extract();
  extract.on('entry', (header, stream, next) => {
    const target = resolve(root, header.name);
    const inside = !checkRelativePath(header.name) && target.startsWith(root + sep);
    if (!inside || (header.type !== 'file' && header.type !== 'directory')) {
      stream.on('end', () => next());
      stream.resume();
      return;
    }
    const done = (error?: unknown) => next(error instanceof Error ? error : undefined);
    if (header.type === 'directory') {
      mkdir(target, { recursive: true }).then(() => {
        stream.on('end', () => done());
        stream.resume();
      }, done);
      return;
    }
    mkdir(dirname(target), { recursive: true }).then(() => {
      const file = createWriteStream(target);
      file.on('error', done);
      file.on('finish', () => {
        written.push(header.name);
        done();
      });
      stream.pipe(file);
    }, done);
  });
  await new Promise<void>((resolvePromise, reject) => {
    data.on('error', reject);
    extract.on('error', reject);
    extract.on('finish', () => resolvePromise());
    data.pipe(extract);
  });
  return written;
}
