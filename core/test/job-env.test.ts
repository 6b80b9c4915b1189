import { describe, expect, it } from 'vitest';
import { ConfigError, jobEnvironment, loadConfig } from '../src/index.js';

const load = (text: string) => loadConfig(text, 'katapult.yaml', { defaultCpus: 2 });
const errors = (text: string): string[] => {
  try {
    load(text);
  } catch (error) {
    if (error instanceof ConfigError) return error.lines();
    throw error;
  }
  throw new Error('loaded without error');
};

describe('env: variables of the jobs', () => {
  it("merges the top-level env with each job's, the job's winning, and numbers and booleans as written", () => {
    const spec = load(
      'env: { MODE: fast, N: 4, DEBUG: true }\njobs:\n  - name: a\n    run_command: "true"\n    env: { MODE: slow, ONLY_A: "x y" }\n  - name: b\n    run_command: "true"\n',
    );
    expect(spec.jobs.map((job) => [job.id, job.env])).toEqual([
      ['a', { MODE: 'slow', N: '4', DEBUG: 'true', ONLY_A: 'x y' }],
      ['b', { MODE: 'fast', N: '4', DEBUG: 'true' }],
    ]);
  });

  it('numbers the copies of a repeat from 0, and tells each how many there are', () => {
    const spec = load('jobs:\n  - name: sweep\n    run_command: "true"\n    repeat: 3\n  - name: once\n    run_command: "true"\n');
    expect(spec.jobs.map((job) => [job.id, job.copyIndex, job.copyCount])).toEqual([
      ['sweep-1', 0, 3],
      ['sweep-2', 1, 3],
      ['sweep-3', 2, 3],
      ['once', 0, 1],
    ]);
  });

  it('refuses a name that is not a variable name, and the KATAPULT_ ones, naming the field', () => {
    expect(errors('env: { "1X": a }\njobs:\n  - run_command: "true"\n')[0]).toBe(
      'KP_CONFIG_INVALID katapult.yaml:1:8 env.1X: "1X" is not a variable name: letters, digits and "_", not starting with a digit',
    );
    expect(errors('jobs:\n  - run_command: "true"\n    env: { KATAPULT_JOB: mine }\n')).toEqual([
      'KP_CONFIG_INVALID katapult.yaml:3:12 jobs[0].env.KATAPULT_JOB: KATAPULT_* variables are set by Katapult itself; pick another name',
    ]);
  });

  it("gives the container the job's variables and what Katapult tells every job, which the job cannot override", () => {
    const env = jobEnvironment({
      runId: 'r-1',
      jobId: 'sweep-3',
      attempt: 2,
      cpus: 4,
      gpus: 1,
      env: { MODE: 'slow', KATAPULT_JOB: 'forged' },
      jobIndex: 2,
      jobCount: 5,
    });
    expect(env).toEqual([
      'MODE=slow',
      'KATAPULT_JOB=sweep-3',
      'KATAPULT_RUN_ID=r-1',
      'KATAPULT_JOB_INDEX=2',
      'KATAPULT_JOB_COUNT=5',
      'KATAPULT_ATTEMPT=2',
      'KATAPULT_CPUS=4',
      'KATAPULT_GPUS=1',
    ]);
    expect(jobEnvironment({ runId: 'r-1', jobId: 'one', attempt: 1, cpus: 1 })).toContain('KATAPULT_JOB_INDEX=0');
  });
});

describe('secrets: names only, in the config', () => {
  it('gives each job the top-level secrets and its own, by name', () => {
    const spec = load(
      'secrets: [API_KEY]\njobs:\n  - name: a\n    run_command: "true"\n    secrets: [DB_PASSWORD, API_KEY]\n  - name: b\n    run_command: "true"\n',
    );
    expect(spec.jobs.map((job) => [job.id, job.secrets])).toEqual([
      ['a', ['API_KEY', 'DB_PASSWORD']],
      ['b', ['API_KEY']],
    ]);
  });

  it('refuses a secret that env also sets, or that is no variable name', () => {
    expect(errors('env: { TOKEN: abc }\nsecrets: [TOKEN]\njobs:\n  - run_command: "true"\n')).toEqual([
      'KP_CONFIG_INVALID katapult.yaml:2:11 secrets[0]: "TOKEN" is also given a value in env; a secret\'s value comes only from this machine\'s environment or --secrets-file',
    ]);
    expect(errors('jobs:\n  - run_command: "true"\n    secrets: [my-token]\n')[0]).toContain(
      'jobs[0].secrets[0]: "my-token" is not a variable name',
    );
  });
});
