import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { NatsConnection } from '@nats-io/transport-node';
import { contentName, ContentChangedError, putNamedByContent } from '@katapult/object-files';
import {
  ExitCode,
  JETSTREAM_API_TIMEOUT_MS,
  jobInputPaths,
  KatapultError,
  storeLimitMessage,
  type ClusterNames,
  type CreateRunRequest,
  type RunSpec,
} from '@katapult/core/light';
import { resolveProjectFile, type ProjectFile } from '@katapult/images';

// Files are read a chunk (1 MiB, as they are stored) at a time: 16 times fewer reads than the default 64 KiB.
const READ_BYTES = 1 << 20;

const KIND_FIELD = { script: 'run_script', upload: 'upload_files', input: 'input_files' } as const;

/**
 * Every project file the jobs of a run name, each once, checked before anything starts: a missing file, a folder,
 * or a path escaping the project folder is an error naming the job and the field.
 */
export async function resolveRunFiles(projectDir: string, spec: RunSpec): Promise<ProjectFile[]> {
  const files = new Map<string, ProjectFile>();
  for (const job of spec.jobs) {
    for (const { path, kind } of jobInputPaths(job)) {
      if (!files.has(path)) files.set(path, await resolveProjectFile(projectDir, path, `job "${job.id}" ${KIND_FIELD[kind]}`));
    }
  }
  return [...files.values()];
}

export interface UploadSummary {
  files: CreateRunRequest['files'];
  uploaded: number;
  reused: number;
  bytes: number;
}

/**
 * Puts each file in the cluster's object store under the hash of its content, so a file shared by many jobs, or
 * unchanged since an earlier run, is stored once and never sent again. A file is hashed while it is sent, and the
 * sending stops once the hash names an object already stored.
 */
export async function uploadRunFiles(nc: NatsConnection, names: ClusterNames, files: readonly ProjectFile[]): Promise<UploadSummary> {
  const summary: UploadSummary = { files: {}, uploaded: 0, reused: 0, bytes: 0 };
  for (const file of files) {
    const named = sha256Of(file.realPath).then(contentName);
    const { info, reused } = await putNamedByContent(
      nc,
      names.fileStore,
      createReadStream(file.realPath, { highWaterMark: READ_BYTES }),
      named,
      {
        timeoutMs: JETSTREAM_API_TIMEOUT_MS,
      },
    ).catch((error: unknown) => {
      if (error instanceof ContentChangedError)
        throw new KatapultError('KP_FILE_CHANGED', `${file.path} changed while it was being uploaded; nothing of it was stored`, {
          exitCode: ExitCode.badInput,
          hint: 'launch again once the file is written',
        });
      const full = storeLimitMessage(`OBJ_${names.fileStore}`, error);
      throw full
        ? new KatapultError('KP_STORE_FULL', `${file.path} was not uploaded: ${full}`, { exitCode: ExitCode.infrastructure })
        : error;
    });
    if (reused) {
      summary.reused += 1;
    } else {
      summary.uploaded += 1;
      summary.bytes += file.size;
    }
    summary.files[file.path] = { object: info.name, size: file.size, executable: file.executable };
  }
  return summary;
}

async function sha256Of(path: string): Promise<Buffer> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: READ_BYTES })) hash.update(chunk as Buffer);
  return hash.digest();
}
