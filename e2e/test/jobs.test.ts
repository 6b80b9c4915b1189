import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { cp, readFile, writeFile } from 'node:fs/promises';
import Docker from 'dockerode';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunView } from '@katapult/core';
import { ensureBaseImage } from '@katapult/images';
import { requireDocker, startRegistry, tempDir, type RegistryServer } from '@katapult/testkit';
import { katapult, REPO_ROOT, type CliResult } from './cli.js';

/**
 * Jobs as AWS Batch and SkyPilot users expect them, on one local stack: variables and the copy index, time
 * limits, retries by exit code, dependencies, secrets and an image of one's own.
 */
describe('jobs: variables, timeouts, retries, dependencies, secrets, images', () => {
  let env: NodeJS.ProcessEnv;
  let project: string;

  beforeAll(async () => {
    await requireDocker();
    env = { KATAPULT_HOME: await tempDir('e2e-jobs') };
    project = await tempDir('e2e-jobs-project');
  });
  afterAll(async () => {
    if (env) await katapult(['down'], env);
  });

  const config = async (name: string, lines: string[]): Promise<string> => {
    const file = join(project, `${name}.yaml`);
    await writeFile(file, [...lines, ''].join('\n'));
    return file;
  };
  const runIdOf = (launch: CliResult) => /run (r-[0-9a-z-]+) submitted/.exec(launch.stdout)![1]!;
  const statusOf = async (runId: string): Promise<RunView> => {
    const runs = JSON.parse((await katapult(['status', runId, '--json'], env)).stdout) as RunView[] | RunView;
    return Array.isArray(runs) ? runs[0]! : runs;
  };

  it("each copy of a repeat knows its index, and every job gets the config's variables, its own winning", async () => {
    const file = await config('variables', [
      'project: variables',
      'instances: [{ number: 1, cpus: 2 }]',
      'env: { GREETING: hello, WHO: everyone }',
      'jobs:',
      '  - name: copy',
      '    repeat: 5',
      '    env: { WHO: copies }',
      '    run_command: echo "$KATAPULT_JOB_INDEX $KATAPULT_JOB_COUNT $KATAPULT_JOB $KATAPULT_ATTEMPT $KATAPULT_CPUS $KATAPULT_GPUS $GREETING $WHO $KATAPULT_RUN_ID" > index.txt',
      '    output_files: index.txt',
    ]);
    const launch = await katapult(['launch', file], env);
    expect(launch.stderr).toBe('');
    expect(launch.code).toBe(0);
    const runId = runIdOf(launch);
    const out = await tempDir('e2e-jobs-variables-out');
    expect((await katapult(['fetch', runId, '--out', out], env)).code).toBe(0);
    const lines = await Promise.all([1, 2, 3, 4, 5].map((k) => readFile(join(out, runId, `copy-${k}`, 'index.txt'), 'utf8')));
    expect(lines).toEqual([0, 1, 2, 3, 4].map((index) => `${index} 5 copy-${index + 1} 1 1 0 hello copies ${runId}\n`));
  }, 600_000);

  it('a job past its timeout is killed, fails with the reason timeout, and its outputs so far are fetched', async () => {
    const file = await config('timeout', [
      'project: timeouts',
      'instances: [{ number: 1, cpus: 2 }]',
      'jobs:',
      '  - name: slow',
      '    timeout: 2s',
      '    retries: 2',
      '    run_command: echo "started" > partial.txt; sleep 30; echo "never" >> partial.txt',
      '    output_files: partial.txt',
    ]);
    const launch = await katapult(['launch', file], env);
    expect(launch.code).toBe(1);
    expect(launch.stdout).toContain('slow: failed: timeout (killed: it ran past its timeout of 2s)');
    expect(launch.stdout).toMatch(/slow: failed with exit code 137 \(timeout\); see: katapult logs slow/);
    const runId = runIdOf(launch);
    const run = await statusOf(runId);
    expect(run.jobs.map((job) => [job.id, job.state, job.reason, job.attempt])).toEqual([['slow', 'failed', 'timeout', 1]]);
    expect(run.jobs[0]!.finishedAt! - run.jobs[0]!.startedAt!).toBeLessThan(20_000);
    const status = await katapult(['status', runId], env);
    expect(status.stdout).toContain('slow: failed: timeout (killed: it ran past its timeout of 2s)');
    const out = await tempDir('e2e-jobs-timeout-out');
    expect((await katapult(['fetch', runId, '--out', out], env)).code).toBe(0);
    expect(await readFile(join(out, runId, 'slow', 'partial.txt'), 'utf8')).toBe('started\n');
  }, 600_000);

  it('retries only on a listed exit code, and status shows how each attempt ended', async () => {
    const file = await config('retries', [
      'project: retries',
      'instances: [{ number: 1, cpus: 2 }]',
      'jobs:',
      '  - name: flaky',
      '    retries: 3',
      '    retry_on_exit_codes: [75]',
      '    run_command: if [ "$KATAPULT_ATTEMPT" -lt 3 ]; then exit 75; fi; echo "made it on attempt $KATAPULT_ATTEMPT"',
      '  - name: broken',
      '    retries: 3',
      '    retry_on_exit_codes: [75]',
      '    run_command: exit 3',
    ]);
    const launch = await katapult(['launch', file], env);
    expect(launch.code).toBe(1);
    const runId = runIdOf(launch);
    const run = await statusOf(runId);
    expect(run.jobs.map((job) => [job.id, job.state, job.attempt, job.exitCode])).toEqual([
      ['flaky', 'done', 3, 0],
      ['broken', 'failed', 1, 3],
    ]);
    expect(run.jobs[0]!.attempts!.map((outcome) => [outcome.attempt, outcome.reason, outcome.exitCode])).toEqual([
      [1, 'exit_nonzero', 75],
      [2, 'exit_nonzero', 75],
      [3, 'exit_zero', 0],
    ]);
    const status = await katapult(['status', runId], env);
    expect(status.stdout).toContain('flaky: attempt 1 exit 75 · attempt 2 exit 75 · attempt 3 exit 0');
    expect(status.stdout).toContain('broken: exit code 3 is not one of retry_on_exit_codes (75): not retried');
    expect((await katapult(['logs', 'flaky', '--run', runId], env)).stdout).toContain('made it on attempt 3');
  }, 600_000);

  it('a secret reaches its job and nothing else: no log, status, API answer, stored file or error holds it', async () => {
    const apiKey = `kp-${randomBytes(16).toString('hex')}`;
    const dbPassword = `pw-${randomBytes(16).toString('hex')}`;
    const secretsFile = join(project, 'db.secrets');
    await writeFile(secretsFile, `# for the secrets test\nDB_PASSWORD="${dbPassword}"\n`);
    const file = await config('secrets', [
      'project: secrets',
      'instances: [{ number: 1, cpus: 2 }]',
      'secrets: [API_KEY]',
      'jobs:',
      '  - name: uses',
      '    secrets: [DB_PASSWORD]',
      '    run_command: printf %s "$API_KEY" | sha256sum | cut -c1-64 > seen.txt; printf %s "$DB_PASSWORD" | sha256sum | cut -c1-64 >> seen.txt; echo "key is $API_KEY"; echo "password is $DB_PASSWORD" >&2',
      '    output_files: seen.txt',
      '  - name: plain',
      '    run_command: echo "plain sees ${DB_PASSWORD:-no password}"',
    ]);
    const sha = (text: string) => createHash('sha256').update(text).digest('hex');
    const secretEnv = { ...env, API_KEY: apiKey };

    const refused = await katapult(['launch', file], secretEnv);
    expect(refused.code).toBe(2);
    expect(refused.stderr.trim()).toBe(
      "KP_SECRET_MISSING no value for the secret DB_PASSWORD (set it in this shell's environment, or give a file of NAME=value lines with --secrets-file)",
    );

    const launch = await katapult(['launch', file, '--secrets-file', secretsFile], secretEnv);
    expect(launch.stderr).toBe('');
    expect(launch.code).toBe(0);
    const runId = runIdOf(launch);
    const out = await tempDir('e2e-jobs-secrets-out');
    expect((await katapult(['fetch', runId, '--out', out], env)).code).toBe(0);
    expect(await readFile(join(out, runId, 'uses', 'seen.txt'), 'utf8')).toBe(`${sha(apiKey)}\n${sha(dbPassword)}\n`);
    const usesLog = await katapult(['logs', 'uses', '--run', runId], env);
    expect(usesLog.stdout).toBe('key is ***\n');
    expect(usesLog.stderr).toBe('password is ***\n');
    expect((await katapult(['logs', 'plain', '--run', runId], env)).stdout).toBe('plain sees no password\n');

    // Every place a value could land: CLI output, the API (what the dashboard shows), logs, the state folder with
    // JetStream's files, and the agents' own output.
    const home = env.KATAPULT_HOME!;
    const texts: string[] = [refused.stdout, refused.stderr, launch.stdout, launch.stderr, usesLog.stdout, usesLog.stderr];
    for (const args of [
      ['status', runId],
      ['status', runId, '--json'],
      ['status', '--all', '--json'],
      ['logs', '--run', runId],
      ['fetch', runId, '--out', out],
    ]) {
      const result = await katapult(args, env);
      texts.push(result.stdout, result.stderr);
    }
    const token = readFileSync(join(home, 'api-token'), 'utf8').trim();
    const stack = JSON.parse(readFileSync(join(home, 'stack.json'), 'utf8')) as { label: string; coordinator: { port: number } };
    for (const path of ['/runs', `/runs/${runId}`, `/runs/${runId}/jobs`, '/agents']) {
      const response = await fetch(`http://127.0.0.1:${stack.coordinator.port}${path}`, { headers: { authorization: `Bearer ${token}` } });
      expect(response.status).toBe(200);
      texts.push(await response.text());
    }
    const docker = new Docker();
    for (const agent of await docker.listContainers({ all: true, filters: { label: [`katapult.stack=${stack.label}`] } })) {
      const logs = (await docker.getContainer(agent.Id).logs({ stdout: true, stderr: true })).toString('latin1');
      texts.push(logs);
    }
    for (const secret of [apiKey, dbPassword]) {
      for (const text of texts) expect(text.includes(secret)).toBe(false);
      // Every file of the state folder: JetStream's streams and buckets (nats/), the servers' logs, the registry.
      const found = await new Promise<string>((resolve) =>
        execFile('grep', ['-r', '-l', '-a', '-F', secret, home], { maxBuffer: 1 << 20 }, (_error, stdout) => resolve(stdout)),
      );
      expect(found).toBe('');
    }
    // The grep would have found a value written plainly: JetStream keeps the job's (masked) log lines in these files.
    const foundLog = await new Promise<string>((resolve) =>
      execFile('grep', ['-r', '-l', '-a', '-F', 'plain sees no password', join(home, 'nats')], (_error, stdout) => resolve(stdout)),
    );
    expect(foundLog).not.toBe('');
  }, 600_000);

  it('examples/pipeline: split -> 3 workers -> merge, each stage given the outputs of the one before', async () => {
    const launch = await katapult(['launch', 'examples/pipeline/katapult.yaml'], env);
    expect(launch.stderr).toBe('');
    expect(launch.code).toBe(0);
    const runId = runIdOf(launch);
    const run = await statusOf(runId);
    expect(run.jobs.map((job) => [job.id, job.state])).toEqual([
      ['split', 'done'],
      ['work-1', 'done'],
      ['work-2', 'done'],
      ['work-3', 'done'],
      ['merge', 'done'],
    ]);
    // Each stage started only once the one before had finished.
    const byId = new Map(run.jobs.map((job) => [job.id, job]));
    for (const k of [1, 2, 3]) expect(byId.get(`work-${k}`)!.startedAt!).toBeGreaterThanOrEqual(byId.get('split')!.finishedAt!);
    for (const k of [1, 2, 3]) expect(byId.get('merge')!.startedAt!).toBeGreaterThanOrEqual(byId.get(`work-${k}`)!.finishedAt!);
    expect((await katapult(['logs', 'work-2', '--run', runId], env)).stdout).toBe('part 1 of 3: 155\n');
    const out = await tempDir('e2e-jobs-pipeline-out');
    expect((await katapult(['fetch', runId, '--out', out], env)).code).toBe(0);
    expect(await readFile(join(out, runId, 'merge', 'total.txt'), 'utf8')).toBe('465\n');
  }, 600_000);

  it('a failing middle job leaves the jobs after it skipped, saying why', async () => {
    const pipeline = join(project, 'pipeline');
    await cp(join(REPO_ROOT, 'examples', 'pipeline'), pipeline, { recursive: true });
    const file = join(pipeline, 'failing.yaml');
    const example = await readFile(join(pipeline, 'katapult.yaml'), 'utf8');
    await writeFile(
      file,
      `${example.replace('project: pipeline', 'project: failing-pipeline').replace('  PARTS: 3', '  PARTS: 3\n  FAIL_INDEX: 1')}  - name: report\n    after: [merge]\n    run_command: cat total.txt\n`,
    );
    const launch = await katapult(['launch', file], env);
    expect(launch.code).toBe(1);
    const runId = runIdOf(launch);
    const run = await statusOf(runId);
    expect(run.state).toBe('failed');
    expect(run.jobs.map((job) => [job.id, job.state, job.exitCode, job.reason, job.message])).toEqual([
      ['split', 'done', 0, 'exit_zero', null],
      ['work-1', 'done', 0, 'exit_zero', null],
      ['work-2', 'failed', 4, 'exit_nonzero', null],
      ['work-3', 'done', 0, 'exit_zero', null],
      ['merge', 'skipped', null, 'dependency', 'work-2 failed, and this job runs after it'],
      ['report', 'skipped', null, 'dependency', 'merge skipped, and this job runs after it'],
    ]);
    expect(launch.stdout).toContain('merge: skipped: work-2 failed, and this job runs after it');
    expect(launch.stdout).toContain('report: skipped: merge skipped, and this job runs after it');
    expect((await katapult(['validate', file], env)).code).toBe(0);
  }, 600_000);

  describe('an environment on an image of its own', () => {
    let registry: RegistryServer;
    const made: string[] = [];
    const docker = (args: string[], input?: string) =>
      new Promise<string>((resolve, reject) => {
        const child = execFile('docker', args, { maxBuffer: 16 << 20 }, (error, stdout, stderr) =>
          error ? reject(new Error(`docker ${args[0]}: ${stderr}`)) : resolve(stdout),
        );
        if (input !== undefined) child.stdin!.end(input);
      });
    /** An image of the team's, built here on the base image and pushed to the test's own registry. */
    const pushTeamImage = async (ref: string, marker: string) => {
      const base = await ensureBaseImage(new Docker());
      await docker(['build', '-t', ref, '-'], `FROM ${base.ref}\nRUN echo "${marker}" > /etc/team-image\n`);
      made.push(ref);
      await docker(['push', ref]);
      await docker(['rmi', ref]); // launch must pull it
    };

    beforeAll(async () => {
      registry = await startRegistry();
    });
    afterAll(async () => {
      for (const ref of made) await docker(['rmi', '-f', ref]).catch(() => undefined);
      if (registry) {
        const images = await new Docker().listImages({ all: true });
        // The environments built on the team's image first (this stack's only ones named "team"), then the team's
        // images, the first of which, untagged once the second took its tag, is known by its registry digest only.
        const stackRegistry = `127.0.0.1:${(JSON.parse(readFileSync(join(env.KATAPULT_HOME!, 'stack.json'), 'utf8')) as { registry: { port: number } }).registry.port}/`;
        const built = images.filter(
          (image) =>
            image.Labels?.['katapult.environment'] === 'team' && (image.RepoTags ?? []).some((tag) => tag.startsWith(stackRegistry)),
        );
        const team = images.filter((image) =>
          [...(image.RepoTags ?? []), ...(image.RepoDigests ?? [])].some((name) => name.startsWith(`${registry.host}/team/`)),
        );
        for (const image of [...built, ...team])
          await new Docker()
            .getImage(image.Id)
            .remove({ force: true })
            .catch(() => undefined);
      }
      await registry?.stop();
    });

    it('is pulled from its registry, gets its layers built on top, and its jobs run in it as the job user', async () => {
      const ref = `${registry.host}/team/tools:1`;
      await pushTeamImage(ref, 'team image v1');
      const file = await config('own-image', [
        'project: own-image',
        'instances: [{ number: 1, cpus: 2 }]',
        'environments:',
        '  - name: team',
        `    image: ${ref}`,
        '    command: echo "layer on top" > /opt/layer',
        'jobs:',
        '  - name: inside',
        '    run_command: cat /etc/team-image /opt/layer; id -u',
      ]);
      const launch = await katapult(['launch', file], env);
      expect(launch.stderr).toBe('');
      expect(launch.code).toBe(0);
      const runId = runIdOf(launch);
      expect((await katapult(['logs', 'inside', '--run', runId], env)).stdout).toBe('team image v1\nlayer on top\n1000\n');

      // The same tag on a new image is a new environment: the content tag has the pulled image's digest.
      const first = JSON.parse((await katapult(['build', file, '--json'], env)).stdout) as { name: string; ref: string; built: boolean }[];
      await pushTeamImage(ref, 'team image v2');
      const second = JSON.parse((await katapult(['build', file, '--json'], env)).stdout) as { name: string; ref: string; built: boolean }[];
      expect(first.map((image) => [image.name, image.built])).toEqual([['team', false]]);
      expect(second.map((image) => [image.name, image.built])).toEqual([['team', true]]);
      expect(second[0]!.ref).not.toBe(first[0]!.ref);
    }, 600_000);

    it('an image no registry serves is one line naming the environment and the reference', async () => {
      const file = await config('missing-image', [
        'environments:',
        '  - name: gone',
        `    image: ${registry.host}/team/nothing:1`,
        'jobs:',
        '  - run_command: "true"',
      ]);
      const build = await katapult(['build', file], env);
      expect(build.code).toBe(2);
      expect(build.stderr.trim().split('\n')).toHaveLength(1);
      expect(build.stderr).toMatch(
        new RegExp(`^KP_IMAGE_PULL_FAILED environment "gone" image: ${registry.host}/team/nothing:1 cannot be pulled: `),
      );
    }, 600_000);
  });
});
