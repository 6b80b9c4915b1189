import { describe, expect, it } from 'vitest';
import { jobCommand, jobInputPaths, normalizeRelative, splitRunScript } from '../src/index.js';

const job = (patch: Partial<Parameters<typeof jobInputPaths>[0] & Parameters<typeof jobCommand>[0]>) => ({
  runScript: null,
  runCommand: null,
  uploadFiles: [],
  inputFiles: [],
  ...patch,
});

describe('run_script', () => {
  it('splits the script path from its arguments, which stay as written', () => {
    expect(splitRunScript('examples/run_remote.py 1 10')).toEqual({ script: 'examples/run_remote.py', args: '1 10' });
    expect(splitRunScript('  solve.jl   "a b"  --fast ')).toEqual({ script: 'solve.jl', args: '"a b"  --fast' });
    expect(splitRunScript('run.sh')).toEqual({ script: 'run.sh', args: '' });
  });

  it('runs .py with python, .jl with julia and anything else directly, arguments passed through', () => {
    expect(jobCommand(job({ runScript: 'examples/run_remote.py 1 10' }))).toBe('python3 examples/run_remote.py 1 10');
    expect(jobCommand(job({ runScript: 'sim/solve.jl 3' }))).toBe('julia sim/solve.jl 3');
    expect(jobCommand(job({ runScript: './tools/go.sh --n 2' }))).toBe('./tools/go.sh --n 2');
    expect(jobCommand(job({ runScript: 'a&b.py 1' }))).toBe("python3 'a&b.py' 1");
  });

  it('wins over run_command, as in the original', () => {
    expect(jobCommand(job({ runScript: 'a.py', runCommand: 'echo ignored' }))).toBe('python3 a.py');
    expect(jobCommand(job({ runCommand: 'echo hi' }))).toBe('echo hi');
  });
});

describe('the files a job needs', () => {
  it('lists its script, uploads and inputs once each, with normalized paths', () => {
    const files = jobInputPaths(
      job({
        runScript: './bin/run.py 1',
        uploadFiles: ['shared.txt', 'bin/run.py'],
        inputFiles: ['data//in.dat', 'shared.txt', './data/in.dat'],
      }),
    );
    expect(files).toEqual([
      { path: 'bin/run.py', kind: 'script' },
      { path: 'shared.txt', kind: 'upload' },
      { path: 'data/in.dat', kind: 'input' },
    ]);
  });

  it('normalizes a path the way the file system would', () => {
    expect(normalizeRelative('./a/./b/../c.txt')).toBe('a/c.txt');
  });
});
