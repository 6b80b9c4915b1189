import { describe, expect, it } from 'vitest';
import { applyJobEvent, ConfigError, dependencyDecisions, dependencyIssues, loadConfig } from '../src/index.js';
import { jobRecord } from '../src/testing/index.js';

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

describe('after and inputs_from in the config', () => {
  it("expands a repeated job's name to its copies, whose outputs go under <name>-<k>/, and inputs_from implies after", () => {
    const spec = load(
      [
        'jobs:',
        '  - { name: split, run_command: "true" }',
        '  - { name: work, run_command: "true", repeat: 2, inputs_from: [split] }',
        '  - { name: merge, run_command: "true", inputs_from: [work], after: [split] }',
      ].join('\n'),
    );
    expect(spec.jobs.map((job) => [job.id, job.after, job.inputsFrom])).toEqual([
      ['split', undefined, undefined],
      ['work-1', ['split'], [{ job: 'split', dir: '' }]],
      ['work-2', ['split'], [{ job: 'split', dir: '' }]],
      [
        'merge',
        ['split', 'work-1', 'work-2'],
        [
          { job: 'work-1', dir: 'work-1' },
          { job: 'work-2', dir: 'work-2' },
        ],
      ],
    ]);
  });

  it('refuses an unknown name (with a suggestion), a job after itself, and a cycle, each on one line naming the field', () => {
    expect(errors('jobs:\n  - { name: split, run_command: "true" }\n  - { name: merge, run_command: "true", after: [splt] }\n')).toEqual([
      'KP_CONFIG_INVALID katapult.yaml:3:49 jobs[1].after[0]: no job is named "splt"; did you mean split?',
    ]);
    expect(errors('jobs:\n  - { name: a, run_command: "true", inputs_from: [a] }\n')).toEqual([
      'KP_CONFIG_INVALID katapult.yaml:2:51 jobs[0].inputs_from[0]: "a" is this job itself',
    ]);
    expect(
      errors(
        'jobs:\n  - { name: a, run_command: "true", after: [c] }\n  - { name: b, run_command: "true", after: [a] }\n  - { name: c, run_command: "true", inputs_from: [b] }\n',
      ),
    ).toEqual(['KP_CONFIG_INVALID katapult.yaml:2:37 jobs[0].after: "a" -> "c" -> "b" -> "a" is a cycle: none of them could ever start']);
  });

  it('finds each cycle once, and none in a diamond', () => {
    expect(
      dependencyIssues([
        { name: 'a', after: [] },
        { name: 'b', after: ['a'] },
        { name: 'c', after: ['a'] },
        { name: 'd', after: ['b', 'c'] },
      ]),
    ).toEqual([]);
    expect(
      dependencyIssues([
        { name: 'a', after: ['b'] },
        { name: 'b', after: ['a'] },
        { name: 'c', after: ['d'] },
        { name: 'd', after: ['c'] },
      ]).map((issue) => issue.message),
    ).toEqual([
      '"a" -> "b" -> "a" is a cycle: none of them could ever start',
      '"c" -> "d" -> "c" is a cycle: none of them could ever start',
    ]);
  });
});

describe('what becomes of blocked jobs', () => {
  it('releases a job when all it runs after are done, and skips it when one failed, was aborted or skipped', () => {
    const decisions = dependencyDecisions([
      { id: 'split', state: 'done' },
      { id: 'work-1', state: 'done', after: ['split'] },
      { id: 'work-2', state: 'failed', after: ['split'] },
      { id: 'ready', state: 'blocked', after: ['split', 'work-1'] },
      { id: 'merge', state: 'blocked', after: ['work-1', 'work-2'] },
      { id: 'report', state: 'blocked', after: ['merge'] },
      { id: 'waits', state: 'blocked', after: ['split', 'report'] },
    ]);
    expect(decisions).toEqual({ release: ['ready'], skip: [{ id: 'merge', message: 'work-2 failed, and this job runs after it' }] });
    expect(
      dependencyDecisions([
        { id: 'merge', state: 'skipped' },
        { id: 'report', state: 'blocked', after: ['merge'] },
      ]).skip,
    ).toEqual([{ id: 'report', message: 'merge skipped, and this job runs after it' }]);
  });

  it('blocked -> pending on release (with the archives to stage); blocked -> skipped; a blocked job may be cancelled', () => {
    const blocked = jobRecord({ id: 'merge', image: 'i', state: 'blocked', history: [] });
    const archives = [{ object: 'outputs/r-1/work-1/1', dir: 'work-1' }];
    expect(applyJobEvent(blocked, { type: 'release', inputArchives: archives }, 5).job).toMatchObject({
      state: 'pending',
      inputArchives: archives,
    });
    expect(applyJobEvent(blocked, { type: 'skip', message: 'work-2 failed, and this job runs after it' }, 5).job).toMatchObject({
      state: 'skipped',
      reason: 'dependency',
      finishedAt: 5,
    });
    expect(applyJobEvent(blocked, { type: 'assign', agentId: 'a' }, 5).changed).toBe(false);
    expect(applyJobEvent(blocked, { type: 'cancel' }, 5).job).toMatchObject({ state: 'aborted', history: [] });
    expect(applyJobEvent({ ...blocked, state: 'pending' }, { type: 'skip', message: 'x' }, 5).changed).toBe(false);
  });
});
