import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { folderFiles, parseUploadLimit, projectReader, projectScript } from '../../src/project/oneshot-files.js';

const made: string[] = [];
const tempDir = async (name: string) => {
  const dir = await mkdtemp(join(tmpdir(), `katapult-${name}-`));
  made.push(dir);
  return dir;
};

describe("katapult run's files", () => {
  afterAll(async () => {
    for (const dir of made) await rm(dir, { recursive: true, force: true });
  });

  it('uploads the whole folder but hidden files, caches and results, and refuses past the limit', async () => {
    const dir = await tempDir('oneshot-files');
    for (const folder of ['data', '.git', '__pycache__', 'results/r-1', 'node_modules/x'])
      await mkdir(join(dir, folder), { recursive: true });
    for (const file of ['main.py', 'data/in.csv', '.env', '.git/HEAD', '__pycache__/m.pyc', 'results/r-1/out', 'node_modules/x/i.js'])
      await writeFile(join(dir, file), 'xx');
    expect(folderFiles(dir, 1000)).toEqual({ files: ['data/in.csv', 'main.py'], bytes: 4 });
    expect(() => folderFiles(dir, 3)).toThrow('the folder holds more than 3B of files (--max-upload), at main.py');
  });

  it('takes the script as a path inside the folder, and reads only files in it', async () => {
    const dir = await tempDir('oneshot-script');
    await mkdir(join(dir, 'src'));
    await writeFile(join(dir, 'src', 'run.py'), 'import os\n');
    expect(projectScript(dir, './src//run.py')).toBe('src/run.py');
    expect(() => projectScript(dir, join(dir, '..', 'x.py'))).toThrow(/is outside the current folder/);
    const read = projectReader(dir);
    expect([read('src/run.py'), read('src'), read('nothing.py'), read('../x.py')]).toEqual([
      'import os\n',
      undefined,
      undefined,
      undefined,
    ]);
  });

  it('reads --max-upload sizes in units of 1024', () => {
    expect(['10', '1k', '200m', '1.5g'].map(parseUploadLimit)).toEqual([10, 1024, 200 * 1024 ** 2, 1.5 * 1024 ** 3]);
    expect(() => parseUploadLimit('lots')).toThrow('--max-upload "lots" is not a size');
  });
});
