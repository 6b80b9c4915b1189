import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireDocker, tempDir } from '@katapult/testkit';
import { katapult } from './cli.js';

/**
 * What status, logs and images ls print for one fixed run, text and --json, with what changes from run to run
 * (run and agent ids, times, durations, ports, image tags and sizes) replaced by placeholders. Ids keep their
 * width so the tables keep their columns. One cpu runs the jobs one after the other, so the merged log has one order.
 */
describe('output snapshots of status, logs and images ls', () => {
  let env: NodeJS.ProcessEnv;
  let project: string;

  const text = (output: string) =>
    output
      .replaceAll(project, '<project>')
      .replace(/r-\d{8}-\d{6}-[0-9a-z]{4}/g, 'r-YYYYMMDD-HHMMSS-xxxx')
      .replace(/local-[0-9a-f]{8}-(\d+)-[0-9a-f]{4}/g, 'local-xxxxxxxx-$1-xxxx')
      .replace(/snap\/[0-9a-f]{8}/g, 'snap/xxxxxxxx')
      .replace(/\d+(\.\d)?s$|\d+m\d+s$/gm, '<duration>');

  /** The parsed output, each varying value replaced only when it has the expected shape, so a wrong type still shows. */
  const json = (output: string): unknown =>
    JSON.parse(text(output), (key, value: unknown) => {
      if (['createdAt', 'assignedAt', 'pullingAt', 'startedAt', 'finishedAt', 'at'].includes(key) && typeof value === 'number')
        return '<time>';
      if (key === 'created' && typeof value === 'string' && !Number.isNaN(Date.parse(value))) return '<time>';
      if (key === 'size' && typeof value === 'number' && value > 0) return '<size>';
      if (key === 'digest' && typeof value === 'string' && /^sha256:[0-9a-f]{64}$/.test(value)) return 'sha256:<digest>';
      if (key === 'tag' && typeof value === 'string' && /^[0-9a-f]{24}$/.test(value)) return '<tag>';
      if (key === 'ref' && typeof value === 'string')
        return value.replace(/^127\.0\.0\.1:\d+\//, '127.0.0.1:<port>/').replace(/:[0-9a-f]{24}$/, ':<tag>');
      return value;
    });

  beforeAll(async () => {
    await requireDocker();
    env = { KATAPULT_HOME: await tempDir('e2e-snapshots') };
    project = await tempDir('e2e-snapshots-project');
    const config = join(project, 'snap.yaml');
    await writeFile(
      config,
      [
        'project: snap',
        'instances: [{ number: 1, cpus: 1 }]',
        'jobs:',
        '  - name: first',
        // stdout and stderr are read apart: the pause keeps their stored order fixed.
        '    run_command: echo one; sleep 0.5; echo two >&2',
        '  - name: second',
        '    run_command: echo three; exit 2',
        '',
      ].join('\n'),
    );
    const launch = await katapult(['launch', config, '--wait'], env);
    expect(launch.code).toBe(1);
  });

  afterAll(async () => {
    if (env) await katapult(['down'], env);
  });

  it('status', async () => {
    const status = await katapult(['status'], env);
    expect(status.code).toBe(0);
    expect(text(status.stdout)).toMatchInlineSnapshot(`
      "run r-YYYYMMDD-HHMMSS-xxxx (snap, <project>/snap.yaml): failed — 1 done, 1 failed
      JOB     ENV      AGENT                  POOL           STATE   ATTEMPT  EXIT  DURATION
      first   default  local-xxxxxxxx-0-xxxx  snap/xxxxxxxx  done    1        0     <duration>
      second  default  local-xxxxxxxx-0-xxxx  snap/xxxxxxxx  failed  1        2     <duration>
      "
    `);
  });

  it('status --json', async () => {
    const status = await katapult(['status', '--json'], env);
    expect(status.code).toBe(0);
    expect(json(status.stdout)).toMatchInlineSnapshot(`
      [
        {
          "configFile": "<project>/snap.yaml",
          "createdAt": "<time>",
          "finishedAt": "<time>",
          "id": "r-YYYYMMDD-HHMMSS-xxxx",
          "jobs": [
            {
              "agentId": "local-xxxxxxxx-0-xxxx",
              "assignedAt": "<time>",
              "attempt": 1,
              "attempts": [
                {
                  "agentId": "local-xxxxxxxx-0-xxxx",
                  "attempt": 1,
                  "exitCode": 0,
                  "reason": "exit_zero",
                },
              ],
              "cpus": 1,
              "createdAt": "<time>",
              "envName": "default",
              "exitCode": 0,
              "finishedAt": "<time>",
              "id": "first",
              "message": null,
              "outputFiles": [],
              "outputs": null,
              "pool": "snap/xxxxxxxx",
              "pullingAt": "<time>",
              "reason": "exit_zero",
              "runId": "r-YYYYMMDD-HHMMSS-xxxx",
              "startedAt": "<time>",
              "state": "done",
            },
            {
              "agentId": "local-xxxxxxxx-0-xxxx",
              "assignedAt": "<time>",
              "attempt": 1,
              "attempts": [
                {
                  "agentId": "local-xxxxxxxx-0-xxxx",
                  "attempt": 1,
                  "exitCode": 2,
                  "reason": "exit_nonzero",
                },
              ],
              "cpus": 1,
              "createdAt": "<time>",
              "envName": "default",
              "exitCode": 2,
              "finishedAt": "<time>",
              "id": "second",
              "message": null,
              "outputFiles": [],
              "outputs": null,
              "pool": "snap/xxxxxxxx",
              "pullingAt": "<time>",
              "reason": "exit_nonzero",
              "runId": "r-YYYYMMDD-HHMMSS-xxxx",
              "startedAt": "<time>",
              "state": "failed",
            },
          ],
          "pools": [
            "snap/xxxxxxxx",
          ],
          "project": "snap",
          "state": "failed",
        },
      ]
    `);
  });

  it('logs', async () => {
    const logs = await katapult(['logs'], env);
    expect(logs.code).toBe(0);
    expect(logs.stderr).toBe('');
    expect(text(logs.stdout)).toMatchInlineSnapshot(`
      "first  | one
      first  | two
      second | three
      "
    `);
  });

  it('logs --json', async () => {
    const logs = await katapult(['logs', '--json'], env);
    expect(logs.code).toBe(0);
    expect(json(logs.stdout)).toMatchInlineSnapshot(`
      {
        "lines": [
          {
            "at": "<time>",
            "attempt": 1,
            "job": "first",
            "line": "one",
            "stream": "stdout",
          },
          {
            "at": "<time>",
            "attempt": 1,
            "job": "first",
            "line": "two",
            "stream": "stderr",
          },
          {
            "at": "<time>",
            "attempt": 1,
            "job": "second",
            "line": "three",
            "stream": "stdout",
          },
        ],
        "runId": "r-YYYYMMDD-HHMMSS-xxxx",
      }
    `);
  });

  it('logs of one job, --json', async () => {
    const logs = await katapult(['logs', 'second', '--json'], env);
    expect(logs.code).toBe(0);
    expect(json(logs.stdout)).toMatchInlineSnapshot(`
      {
        "exitCode": 2,
        "job": "second",
        "lines": [
          {
            "at": "<time>",
            "attempt": 1,
            "job": "second",
            "line": "three",
            "stream": "stdout",
          },
        ],
        "runId": "r-YYYYMMDD-HHMMSS-xxxx",
      }
    `);
  });

  it('images ls --json', async () => {
    const images = await katapult(['images', 'ls', '--json'], env);
    expect(images.code).toBe(0);
    expect(json(images.stdout)).toMatchInlineSnapshot(`
      [
        {
          "created": "<time>",
          "digest": "sha256:<digest>",
          "environment": "default",
          "ref": "127.0.0.1:<port>/katapult/env:<tag>",
          "size": "<size>",
          "tag": "<tag>",
        },
      ]
    `);
  });
});
