import { Readable } from 'node:stream';
import * as tar from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { packInputArchives } from '../src/files/work-folder.js';

/** An output archive as the agent stores it: entries at their paths in the job's work folder. */
function outputArchive(files: Record<string, string>, extra: (pack: tar.Pack) => void = () => undefined): () => Promise<Readable> {
  return async () => {
    const pack = tar.pack();
    for (const [name, text] of Object.entries(files)) pack.entry({ name, mode: 0o644 }, text);
    extra(pack);
    pack.finalize();
    return Readable.from(pack);
  };
}

async function entries(archive: Readable): Promise<{ name: string; type: string; uid: number; text: string }[]> {
  const extract = tar.extract();
  const found: { name: string; type: string; uid: number; text: string }[] = [];
  extract.on('entry', (header, stream, next) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: unknown) => chunks.push(chunk as Buffer));
    stream.on('end', () => {
      found.push({ name: header.name, type: header.type ?? 'file', uid: header.uid ?? 0, text: Buffer.concat(chunks).toString() });
      next();
    });
  });
  await new Promise<void>((resolve, reject) => {
    extract.on('finish', resolve);
    extract.on('error', reject);
    archive.pipe(extract);
  });
  return found;
}

describe("inputs_from: the outputs of earlier jobs in a job's work folder", () => {
  it("puts each archive's files under its folder (or at their own paths), owned by the job user, with the folders they need", async () => {
    const archive = packInputArchives(
      [
        { dir: '', open: outputArchive({ 'parts/part-0.txt': '1\n' }) },
        { dir: 'work-1', open: outputArchive({ 'sum.txt': '12\n', 'deep/er/x.txt': 'x' }) },
      ],
      { uid: 1000, gid: 1000 },
    );
    expect(await entries(archive)).toEqual([
      { name: 'work/parts', type: 'directory', uid: 1000, text: '' },
      { name: 'work/parts/part-0.txt', type: 'file', uid: 1000, text: '1\n' },
      { name: 'work/work-1', type: 'directory', uid: 1000, text: '' },
      { name: 'work/work-1/sum.txt', type: 'file', uid: 1000, text: '12\n' },
      { name: 'work/work-1/deep', type: 'directory', uid: 1000, text: '' },
      { name: 'work/work-1/deep/er', type: 'directory', uid: 1000, text: '' },
      { name: 'work/work-1/deep/er/x.txt', type: 'file', uid: 1000, text: 'x' },
    ]);
  });

  it('leaves out links and paths that would leave the work folder', async () => {
    const archive = packInputArchives([
      {
        dir: 'split',
        open: outputArchive({ 'ok.txt': 'ok', '../escape.txt': 'no' }, (pack) =>
          pack.entry({ name: 'link', type: 'symlink', linkname: '/etc/passwd' }),
        ),
      },
    ]);
    expect((await entries(archive)).map((entry) => entry.name)).toEqual(['work/split', 'work/split/ok.txt']);
  });
});
