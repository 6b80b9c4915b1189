import { posix } from 'node:path';
import { Readable } from 'node:stream';
import * as tar from 'tar-stream';
import { checkRelativePath, JOB_WORKDIR, type JobUserIds, type StagedFile } from '@katapult/core';

/** Folders come first in the archive, each once, so Docker creates them before the files inside. */
function foldersOf(paths: readonly string[]): string[] {
  const folders = new Set<string>();
  for (const path of paths) {
    const parts = path.split('/').slice(0, -1);
    for (let depth = 1; depth <= parts.length; depth++) folders.add(parts.slice(0, depth).join('/'));
  }
  return [...folders].sort();
}

/**
 * A tar archive of a job's work folder, to unpack at `/` of its container before it starts: each staged file at
 * its project path under JOB_WORKDIR. Shared files are read-only; a job's own copies are writable. Docker gives
 * each entry the owner its header names, so with a job user the folders and the job's own copies are that user's
 * (it writes its outputs there) while shared files stay root's, which it cannot make writable again.
 */
export function packWorkFolder(
  files: readonly StagedFile[],
  open: (object: string) => Promise<Readable>,
  user: JobUserIds | null = null,
): Readable {
  for (const file of files) {
    const problem = checkRelativePath(file.path);
    if (problem) throw new Error(`refusing to stage ${file.path}: ${problem}`);
  }
  const root = JOB_WORKDIR.replace(/^\//, '');
  const owner = { uid: user?.uid ?? 0, gid: user?.gid ?? 0 };
  const rootOwned = { uid: 0, gid: 0 };
  const pack = tar.pack();
  // The file being packed: a download, possibly, which others wait for; stopped with the archive, it fails them
  // (they download again) instead of leaving them waiting for bytes nobody reads.
  let current: Readable | undefined;
  let stopped = false;
  const write = async () => {
    const mtime = new Date();
    // The job's user's alone: no other user of the container (nor a process of another uid) may read or plant files.
    pack.entry({ name: root, type: 'directory', mode: 0o700, mtime, ...owner });
    for (const folder of foldersOf(files.map((file) => file.path))) {
      pack.entry({ name: `${root}/${folder}`, type: 'directory', mode: 0o755, mtime, ...owner });
    }
    for (const file of files) {
      const mode = (file.executable ? 0o111 : 0) | (file.shared ? 0o444 : 0o644);
      const header = { name: `${root}/${file.path}`, size: file.size, mode, mtime, ...(file.shared ? rootOwned : owner) };
      const source = await open(file.object);
      current = source;
      if (stopped) source.destroy();
      await new Promise<void>((resolve, reject) => {
        source.on('error', reject);
        source.pipe(pack.entry(header, (error) => (error ? reject(error) : resolve())));
      });
    }
    pack.finalize();
  };
  write().catch((error: unknown) => pack.destroy(error instanceof Error ? error : new Error(String(error))));
  // tar-stream's streams are streamx ones; Docker and NATS are handed a Node stream.
  const archive = Readable.from(pack);
  archive.on('close', () => {
    stopped = true;
    current?.destroy();
    pack.destroy();
  });
  return archive;
}

/** Reads one path of a container as a tar archive; resolves null when the path does not exist. */
export type ReadContainerPath = (path: string) => Promise<Readable | null>;

/**
 * Gathers a job's output files (files or whole folders, relative to its work folder) into one archive whose
 * entries keep those relative paths. Only regular files and folders are kept: a link could point anywhere.
 * Resolves with the paths that did not exist and how many files were written.
 */
export async function packOutputs(
  read: ReadContainerPath,
  outputFiles: readonly string[],
  into: tar.Pack,
): Promise<{ missing: string[]; files: number }> {
  const missing: string[] = [];
  let files = 0;
  for (const output of outputFiles) {
    const archive = await read(posix.join(JOB_WORKDIR, output));
    if (!archive) {
      missing.push(output);
      continue;
    }
    const parent = posix.dirname(output);
    const extract = tar.extract();
    extract.on('entry', (header, stream, next) => {
      const name = parent === '.' ? header.name : posix.join(parent, header.name);
      if (header.type === 'file' && !checkRelativePath(name)) {
        files += 1;
        stream.pipe(into.entry({ name, size: header.size ?? 0, mode: header.mode ?? 0o644, mtime: header.mtime ?? new Date() }, next));
      } else {
        if (header.type === 'directory' && !checkRelativePath(name)) into.entry({ name, type: 'directory', mode: header.mode ?? 0o755 });
        stream.on('end', () => next());
        stream.resume();
      }
    });
    await new Promise<void>((resolve, reject) => {
      archive.on('error', reject);
      extract.on('error', reject);
      extract.on('finish', () => resolve());
      archive.pipe(extract);
    });
  }
  return { missing, files };
}

/**
 * The output archives of the jobs a job takes its inputs from (`inputs_from`), as one archive to unpack at `/`
 * of its container: each file under JOB_WORKDIR/<dir>/ at the path it had in its own job's work folder, the job's
 * own writable copy, with the folders it needs. Only regular files are taken, at paths that stay inside.
 */
export function packInputArchives(
  archives: readonly { dir: string; open: () => Promise<Readable> }[],
  user: JobUserIds | null = null,
): Readable {
  const root = JOB_WORKDIR.replace(/^\//, '');
  const owner = { uid: user?.uid ?? 0, gid: user?.gid ?? 0 };
  const pack = tar.pack();
  const folders = new Set<string>();
  const folder = (path: string, mtime: Date) => {
    const parts = path.split('/');
    for (let depth = 1; depth <= parts.length; depth++) {
      const name = parts.slice(0, depth).join('/');
      if (folders.has(name)) continue;
      folders.add(name);
      pack.entry({ name: `${root}/${name}`, type: 'directory', mode: 0o755, mtime, ...owner });
    }
  };
  const write = async () => {
    for (const archive of archives) {
      if (archive.dir !== '' && checkRelativePath(archive.dir)) throw new Error(`refusing to stage inputs under ${archive.dir}`);
      const source = await archive.open();
      const extract = tar.extract();
      extract.on('entry', (header, stream, next) => {
        const name = archive.dir === '' ? header.name : posix.join(archive.dir, header.name);
        // The entry's own name is checked before joining, which would fold a `../` into the folder above.
        if (header.type !== 'file' || checkRelativePath(header.name) || checkRelativePath(name)) {
          stream.on('end', () => next());
          stream.resume();
          return;
        }
        const mtime = header.mtime ?? new Date();
        if (posix.dirname(name) !== '.') folder(posix.dirname(name), mtime);
        stream.pipe(
          pack.entry({ name: `${root}/${name}`, size: header.size ?? 0, mode: (header.mode ?? 0o644) | 0o600, mtime, ...owner }, next),
        );
      });
      await new Promise<void>((resolve, reject) => {
        source.on('error', reject);
        extract.on('error', reject);
        extract.on('finish', () => resolve());
        source.pipe(extract);
      });
    }
    pack.finalize();
  };
  write().catch((error: unknown) => pack.destroy(error instanceof Error ? error : new Error(String(error))));
  return Readable.from(pack);
}
