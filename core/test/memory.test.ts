import { describe, expect, it } from 'vitest';
import { formatMemory, jobMemoryLimit, loadConfig, MIN_MEMORY_BYTES, parseMemory } from '../src/index.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

describe('memory sizes', () => {
  it('reads Docker-style sizes: binary units, any case, an optional b or ib, bare numbers as bytes', () => {
    const cases: [string | number, number][] = [
      ['512m', 512 * MiB],
      ['2g', 2 * GiB],
      ['2G', 2 * GiB],
      ['2GiB', 2 * GiB],
      ['2gb', 2 * GiB],
      ['1.5g', 1.5 * GiB],
      [' 64 m ', 64 * MiB],
      ['8192k', 8 * MiB],
      ['1t', 1024 * GiB],
      ['10485760', 10 * MiB],
      ['10485760b', 10 * MiB],
      [10 * MiB, 10 * MiB],
    ];
    for (const [text, bytes] of cases) expect(parseMemory(text), String(text)).toEqual({ ok: true, bytes });
  });

  it('says what is wrong with anything else, naming the value', () => {
    expect(parseMemory('12 parsecs')).toEqual({
      ok: false,
      problem: '"12 parsecs" is not a size; write a number and a unit, like 512m or 2g',
    });
    for (const text of ['', 'm', '-1g', '1e9', '2 gigs', '1,5g', '0x10m', '1ib']) expect(parseMemory(text).ok, text).toBe(false);
    expect(parseMemory('1m')).toEqual({ ok: false, problem: '"1m" is less than the minimum, 6m' });
    expect(parseMemory(512)).toEqual({ ok: false, problem: '512 (bytes) is less than the minimum, 6m' });
    expect(parseMemory('99999999t')).toEqual({ ok: false, problem: '"99999999t" is too large' });
  });

  it('prints a size in the largest unit that divides it', () => {
    expect([formatMemory(2 * GiB), formatMemory(1536 * MiB), formatMemory(6 * MiB + 1)]).toEqual(['2g', '1536m', `${6 * MiB + 1}b`]);
  });

  it("a job's limit: its own, else its cpus' share of its instance's memory, else none", () => {
    const instance = { memoryBytes: 4 * GiB, cpus: 4 };
    expect(jobMemoryLimit(512 * MiB, instance, 1)).toBe(512 * MiB);
    expect(jobMemoryLimit(null, instance, 1)).toBe(GiB);
    expect(jobMemoryLimit(null, instance, 4)).toBe(4 * GiB);
    expect(jobMemoryLimit(null, { memoryBytes: null, cpus: 4 }, 1)).toBeNull();
    expect(jobMemoryLimit(null, { memoryBytes: 8 * MiB, cpus: 64 }, 1)).toBe(MIN_MEMORY_BYTES);
  });
});

describe('memory and network in a config', () => {
  const load = (text: string) => loadConfig(text, 'katapult.yaml', { defaultCpus: 2 });

  it('become bytes and a network mode in the run spec; unset, no limit and the bridge network', () => {
    const spec = load(
      'instances: [{cpus: 2, memory: 2g}]\njobs:\n  - {name: a, run_command: x, memory: 512m, network: none}\n  - {name: b, run_command: y}\n',
    );
    expect(spec.instances[0]?.memoryBytes).toBe(2 * GiB);
    expect(spec.jobs.map((job) => [job.id, job.memoryBytes, job.network])).toEqual([
      ['a', 512 * MiB, 'none'],
      ['b', null, 'bridge'],
    ]);
  });

  it('a bad instance memory is named by its field', () => {
    expect(() => load('instances: [{memory: lots}]\njobs: [{run_command: x}]\n')).toThrow(
      'katapult.yaml:1:14 instances[0].memory: "lots" is not a size; write a number and a unit, like 512m or 2g',
    );
  });

  it('a job may ask more than an instance without memory would give: no instance says how much it has', () => {
    expect(load('instances: [{cpus: 2}, {memory: 1g}]\njobs: [{run_command: x, memory: 8g}]\n').jobs[0]?.memoryBytes).toBe(8 * GiB);
  });
});
