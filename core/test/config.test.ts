import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/index.js';

const fixtures = join(import.meta.dirname, 'fixtures', 'config');
const load = (text: string, file = 'katapult.yaml') => loadConfig(text, file, { defaultCpus: 2 });

function errorLines(file: string): string[] {
  try {
    load(readFileSync(join(fixtures, file), 'utf8'), file);
  } catch (error) {
    if (error instanceof ConfigError) return error.lines();
    throw error;
  }
  throw new Error(`${file} loaded without error`);
}

describe('broken configs: one line naming the file, position, field and problem', () => {
  for (const file of readdirSync(fixtures).filter((f) => f.endsWith('.yaml'))) {
    const text = readFileSync(join(fixtures, file), 'utf8');
    const expected = /# expect: (.*)/.exec(text)?.[1];
    const prefix = /# expect-prefix: (.*)/.exec(text)?.[1];
    it(file, () => {
      const lines = errorLines(file);
      expect(lines).toHaveLength(1);
      if (expected) expect(lines[0]).toBe(expected);
      if (prefix) expect(lines[0]!.startsWith(prefix)).toBe(true);
    });
  }

  it('JSON configs are located too', () => {
    expect(errorLines('bad-enum.json')).toEqual(['KP_CONFIG_INVALID bad-enum.json:2:3 job_assign: must be one of random, multi_knapsack']);
  });

  it('reports every problem at once, in file order', () => {
    const lines = (() => {
      try {
        load('instances:\n  - cpus: 0\njobs:\n  - run_command: 3\n    colour: red\n');
      } catch (error) {
        return (error as ConfigError).lines();
      }
      return [];
    })();
    expect(lines).toEqual([
      'KP_CONFIG_INVALID katapult.yaml:2:5 instances[0].cpus: must be an integer >= 1',
      'KP_CONFIG_INVALID katapult.yaml:4:5 jobs[0].run_command: must be a non-empty string',
      'KP_CONFIG_INVALID katapult.yaml:5:5 jobs[0].colour: unknown key',
    ]);
  });

  it('a config that is not a mapping', () => {
    expect(() => load('- just\n- a list\n')).toThrow(/katapult.yaml:1:1: must be a mapping/);
  });
});

describe('normalized run spec', () => {
  it('applies the original defaults and expands repeat', () => {
    const spec = load(`
project: demo
instances:
  - number: 2
    cpus: 4
environments:
  - env_aptget: curl
jobs:
  - run_command: echo a
    repeat: 3
  - name: last
    run_command: echo b
    cpus_req: 2
`);
    expect(spec.project).toBe('demo');
    expect(spec.provider).toBe('local');
    expect(spec.jobAssign).toBe('multi_knapsack');
    expect(spec.instances).toMatchObject([{ number: 2, cpus: 4, eco: false }]);
    expect(spec.environments).toMatchObject([{ name: 'default', aptget: ['curl'] }]);
    expect(spec.jobs.map((job) => [job.id, job.envName, job.cpusReq])).toEqual([
      ['job-1-1', 'default', 1],
      ['job-1-2', 'default', 1],
      ['job-1-3', 'default', 1],
      ['last', 'default', 2],
    ]);
  });

  it('network: host is taken once the top level allows it', () => {
    const spec = load('allow_host_network: true\njobs:\n  - run_command: "true"\n    network: host\n');
    expect(spec.allowHostNetwork).toBe(true);
    expect(spec.jobs[0]!.network).toBe('host');
    expect(load('jobs:\n  - run_command: "true"\n').allowHostNetwork).toBe(false);
  });

  it('uses the local machine cpus for instances without cpus, and says they were not given', () => {
    const spec = load('jobs:\n  - run_command: "true"\n');
    expect(spec.instances).toEqual([expect.objectContaining({ cpus: 2, cpusGiven: false, number: 1 })]);
    expect(load('instances: [{cpus: 4}]\njobs:\n  - run_command: "true"\n').instances[0]).toMatchObject({ cpus: 4, cpusGiven: true });
  });

  it("on AWS, an instance without cpus has its type's vCPUs: cpus_req is not checked against this machine", () => {
    const aws = 'provider: aws\nregistry: ecr\nmaestro_address: 203.0.113.5\n';
    expect(load(`${aws}instances: [{type: c5.4xlarge}]\njobs:\n  - {run_command: "true", cpus_req: 16}\n`).jobs[0]!.cpusReq).toBe(16);
    expect(() => load(`${aws}instances: [{type: c5.4xlarge, cpus: 8}]\njobs:\n  - {run_command: "true", cpus_req: 16}\n`)).toThrow(
      'jobs[0].cpus_req: 16 exceeds the largest instance (8 cpus)',
    );
  });

  it("refuses a local instance with more cpus than this machine's Docker gives a container, naming the field and the limit", () => {
    const text = 'instances:\n  - cpus: 3\njobs:\n  - run_command: x\n';
    expect(() => loadConfig(text, 'k.yaml', { defaultCpus: 2, localCpuLimit: 2 })).toThrow(
      "k.yaml:2:5 instances[0].cpus: 3 exceeds the 2 cpus this machine's Docker can give a container (local provider)",
    );
    expect(loadConfig(text.replace('cpus: 3', 'cpus: 2'), 'k.yaml', { defaultCpus: 2, localCpuLimit: 2 }).instances[0]!.cpus).toBe(2);
    // On AWS the instance is an EC2 machine, not a container here.
    const aws =
      'provider: aws\nregistry: ecr\nmaestro_address: 203.0.113.5\ninstances:\n  - {type: c5.xlarge, cpus: 4}\njobs:\n  - run_command: x\n';
    expect(loadConfig(aws, 'k.yaml', { defaultCpus: 2, localCpuLimit: 2 }).instances[0]!.cpus).toBe(4);
  });

  it('loads the shipped example', () => {
    const text = readFileSync(join(import.meta.dirname, '..', '..', 'examples', 'hello', 'katapult.yaml'), 'utf8');
    const spec = load(text, 'examples/hello/katapult.yaml');
    expect(spec.instances.reduce((n, i) => n + i.number, 0)).toBe(2);
    expect(spec.jobs.length).toBeGreaterThanOrEqual(3);
  });
});
