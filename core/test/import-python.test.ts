import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, importPythonConfig, loadConfig, parsePythonConfig } from '../src/index.js';

const fixture = (name: string) => readFileSync(join(import.meta.dirname, 'fixtures', 'original', name), 'utf8');
const options = { defaultCpus: 2, localCpuLimit: 2 };

describe('katapult import of the original config.py', () => {
  it.each(['config.example.py', 'config.minimum.py'])("converts the original README's %s into a config that validates", (name) => {
    const { yaml, notes } = importPythonConfig(fixture(name), name, { maestroAddress: '203.0.113.5' });
    expect(notes).toEqual([]);
    const spec = loadConfig(yaml, 'katapult.yaml', options);
    expect(spec.provider).toBe('aws');
    expect(spec.jobs.map((job) => job.runScript)).toContain('examples/run_remote.py 2 12');
  });

  it('keeps the keys, the values and the comments, and drops the banners', () => {
    const { yaml } = importPythonConfig(fixture('config.example.py'), 'config.py', { maestroAddress: '203.0.113.5' });
    expect(yaml).toContain('project: test # this will be concatenated with the instance hashes (if not None)\n');
    expect(yaml).toContain('\n# GLOBALS\nproject: test');
    expect(yaml).toContain('    env_aptget: [ openssh-client ] # None, an array of librarires/binaries for apt-get\n');
    expect(yaml).toContain('    # env_conda + env_pypi  : mamba is used to setup the env (pip dependencies included)\n');
    expect(yaml).toContain('    repeat: 2 # the number of times this job is repeated\n');
    expect(yaml).toContain('registry: ecr # new in katapult');
    expect(yaml).not.toContain('####');
  });

  it('says what is left to decide when no maestro address is given', () => {
    const { notes } = importPythonConfig(fixture('config.minimum.py'), 'config.py');
    expect(notes).toEqual([
      "with provider: aws and a local maestro, set maestro_address (this machine's public address as EC2 instances reach it), or use maestro: remote with maestro_cidr",
    ]);
  });

  it('reads timedelta, tuples, negative and float numbers, escapes, adjacent strings and a trailing comma', () => {
    const text = [
      'import datetime',
      'from datetime import timedelta',
      'config = {',
      "    'instances': [ { 'eco': True, 'eco_life': datetime.timedelta(hours=1, minutes=30), 'max_bid': 0.25 },",
      "                   { 'eco_life': timedelta(0, 90) }, ],",
      "    'jobs': ( { 'run_command': 'echo \\'a\\' ' \"b\\n\", 'repeat': +3, 'x': -1.5e2, 'y': None },),",
      '}',
    ].join('\n');
    const parsed = parsePythonConfig(text, 'config.py');
    expect(parsed).toMatchObject({ kind: 'dict' });
    const { yaml } = importPythonConfig(text.replace("'x': -1.5e2, 'y': None", "'retries': 0"), 'config.py');
    expect(importPythonConfig(text, 'config.py').yaml).toContain('x: -150');
    expect(yaml).toContain('eco_life: 1h30m');
    expect(yaml).toContain('eco_life: 1m30s');
    expect(yaml).toContain('max_bid: 0.25');
    expect(yaml).toContain('repeat: 3');
    expect(loadConfig(yaml, 'katapult.yaml', options).jobs[0]!.runCommand).toBe("echo 'a' b\n");
  });

  it('refuses what is not a literal, at its line and column', () => {
    const error = (() => {
      try {
        importPythonConfig("base = 2\nconfig = {\n  'jobs': [ {'repeat': base} ]\n}\n", 'config.py');
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).toLine()).toBe(
      'KP_IMPORT_SYNTAX config.py:3:24: "base" is not a literal: katapult import reads dicts, lists, strings, numbers, None, True, False and datetime.timedelta(...)',
    );
    expect(() => importPythonConfig("config = {\n  'a': 1\n  'b': 2\n}", 'config.py')).toThrow(
      'config.py:3:3: expected "," or "}", found a string',
    );
    expect(() => importPythonConfig("config = {'a': 'open\n}", 'config.py')).toThrow('config.py:1:16: a string is not closed on its line');
  });
});
