import { describe, expect, it } from 'vitest';
import { loadConfig } from '@katapult/core';
import { projectNameFor, starterFiles } from '../../src/project/starter-project.js';

describe('katapult init starter', () => {
  it('names the project after its folder, in the letters a project name allows', () => {
    expect(projectNameFor('/home/ada/climate-sim')).toBe('climate-sim');
    expect(projectNameFor('/tmp/My Proj (v2)')).toBe('My-Proj-v2');
    expect(projectNameFor('/tmp/_.hidden')).toBe('hidden');
    expect(projectNameFor('/')).toBe('my-project');
  });

  it('writes a config whose jobs run the script it writes next to it', () => {
    const [config, script] = starterFiles('demo');
    expect(config?.path).toBe('katapult.yaml');
    expect(script).toMatchObject({ path: 'run.sh', mode: 0o755 });
    expect(script?.content.startsWith('#!/bin/sh\n')).toBe(true);
    const spec = loadConfig(config!.content, 'katapult.yaml', { defaultCpus: 2 });
    expect(spec.project).toBe('demo');
    expect(spec.jobs.map((job) => [job.id, job.runScript ?? job.runCommand])).toEqual([
      ['hello', 'echo "hello from $(hostname)"'],
      ['steps-1', 'run.sh 3'],
      ['steps-2', 'run.sh 3'],
    ]);
  });
});
