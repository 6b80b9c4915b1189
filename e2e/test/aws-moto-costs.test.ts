import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RunInstancesCommand } from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  logMessages,
  MOTO_AMIS,
  requireDocker,
  startMoto,
  startRegistry,
  tempDir,
  waitFor,
  type MotoServer,
  type RegistryServer,
} from '@katapult/testkit';
import { startFaultProxy, type FaultProxy } from './aws-fault-proxy.js';
import { katapult } from './cli.js';
import {
  countProjectResources,
  motoClients,
  NOTHING_LEFT,
  projectInstances,
  TEST_CREDENTIALS,
  type MotoClients,
} from './moto-resources.js';

const REGION = 'eu-west-3';
/** What the Price List answers for t3.large here ($/h): moto has no Pricing, the proxy answers for it. */
const T3_LARGE_PER_HOUR = 0.1;

interface StatusRun {
  id: string;
  state: string;
  stopReason?: string;
  jobs: Array<{ id: string; state: string; message: string | null; waiting?: string | null }>;
}

describe('provider: aws, cost caps and orphans (moto, prices from a stand-in Price List)', () => {
  let moto: MotoServer;
  let proxy: FaultProxy;
  let registry: RegistryServer;
  let clients: MotoClients;
  let env: NodeJS.ProcessEnv;
  let home: string;
  const configs: Record<'hourly' | 'budget', string> = { hourly: '', budget: '' };

  beforeAll(async () => {
    await requireDocker();
    [moto, registry] = await Promise.all([startMoto(), startRegistry()]);
    proxy = await startFaultProxy(moto.url, () => undefined, { prices: { 't3.large': T3_LARGE_PER_HOUR } });
    clients = motoClients(moto.url, REGION);
    home = await tempDir('e2e-aws-costs');
    const dir = await tempDir('e2e-aws-costs-project');
    const write = async (name: keyof typeof configs, lines: string[]) => {
      configs[name] = join(dir, `${name}.yaml`);
      await writeFile(
        configs[name],
        [
          ...lines,
          'provider: aws',
          'maestro_address: 127.0.0.1',
          `registry: ${registry.host}`,
          'jobs: [{name: hello, run_command: "echo hello"}]',
          '',
        ].join('\n'),
      );
    };
    // Three instances at $0.10/h under a cap of $0.25/h: two fit.
    await write('hourly', ['project: e2e-hourly', 'max_hourly_cost: 0.25', `instances: [{type: t3.large, number: 3, region: ${REGION}}]`]);
    // One instance at $0.10/h is billed a minute at least ($0.0017) as soon as it runs: past max_cost at once.
    await write('budget', ['project: e2e-budget', 'max_cost: 0.001', `instances: [{type: t3.large, number: 1, region: ${REGION}}]`]);
    env = {
      KATAPULT_HOME: home,
      KATAPULT_NATS_LISTEN: '127.0.0.1',
      AWS_ENDPOINT_URL: proxy.url,
      AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
      AWS_MAX_ATTEMPTS: '1',
      // Orphans are looked for every second and terminated 3 s old, not after 10 minutes.
      KATAPULT_ORPHAN_GRACE_MS: '3000',
      KATAPULT_ORPHAN_CHECK_MS: '1000',
    };
  });
  afterAll(async () => {
    if (env) for (const config of Object.values(configs)) if (config) await katapult(['down', config], env);
    await proxy?.close();
    await registry?.stop();
    await moto?.stop();
  }, 300_000);

  const statusOf = async (runId: string) => {
    const status = await katapult(['status', runId, '--json'], env);
    return (JSON.parse(status.stdout) as StatusRun[])[0]!;
  };
  const runIdOf = (stdout: string) => /r-\d{8}-\d{6}-[0-9a-z]+/.exec(stdout)?.[0];
  const coordinatorLog = async () => logMessages({ file: join(home, 'logs', 'coordinator.log') });

  it('max_hourly_cost: launching stops at the cap, and status and the log say so', async () => {
    const launch = await katapult(['launch', configs.hourly, '--detach'], env);
    expect(launch.stderr).toBe('');
    expect(launch.code).toBe(0);
    const runId = runIdOf(launch.stdout)!;
    const line =
      "max_hourly_cost $0.25/h reached: the project's instances cost $0.20/h, another at $0.10/h would make $0.30/h; 1 not launched";
    const waiting = await waitFor(
      async () => {
        const reason = (await statusOf(runId)).jobs[0]?.waiting ?? '';
        return reason.includes('max_hourly_cost') && reason;
      },
      { what: 'the max_hourly_cost line in status', timeoutMs: 120_000, intervalMs: 500 },
    );
    expect(waiting).toContain(line);
    expect(await projectInstances(clients, 'e2e-hourly', ['pending', 'running'])).toHaveLength(2);
    expect(await coordinatorLog()).toContain(`aws: instances[0]: ${line}`);
  }, 300_000);

  it("an instance of the project that no run knows is terminated past the grace period, logged; the project's others are untouched", async () => {
    const [kept] = await projectInstances(clients, 'e2e-hourly', ['running']);
    const cluster = kept!.Tags!.find((tag) => tag.Key === 'katapult:cluster')!.Value!;
    const created = await clients.ec2.send(
      new RunInstancesCommand({
        ImageId: MOTO_AMIS[1]!.ami_id,
        InstanceType: 't3.micro',
        MinCount: 1,
        MaxCount: 1,
        TagSpecifications: [
          {
            ResourceType: 'instance',
            Tags: [
              { Key: 'katapult:project', Value: 'e2e-hourly' },
              { Key: 'katapult:cluster', Value: cluster },
              { Key: 'katapult:pool', Value: 'e2e-hourly/deadbeef' },
            ],
          },
        ],
      }),
    );
    const orphan = created.Instances![0]!.InstanceId!;
    const before = (await projectInstances(clients, 'e2e-hourly', ['running']))
      .map((instance) => instance.InstanceId)
      .filter((id) => id !== orphan)
      .sort();
    expect(before).toHaveLength(2);
    await waitFor(
      async () =>
        !(await projectInstances(clients, 'e2e-hourly', ['pending', 'running'])).some((instance) => instance.InstanceId === orphan),
      {
        what: `the orphan ${orphan} terminated`,
        timeoutMs: 60_000,
        intervalMs: 500,
      },
    );
    // The coordinator logs the termination once EC2 has answered it, which may be just after the poll above saw it.
    const terminated = new RegExp(
      `aws: orphans: terminated ${orphan} of pool e2e-hourly/deadbeef, which no stored run has \\(up \\d+ min\\)`,
    );
    await waitFor(async () => terminated.test(await coordinatorLog()), {
      what: `the coordinator's line about terminating ${orphan}`,
      timeoutMs: 30_000,
      intervalMs: 250,
    });
    const after = (await projectInstances(clients, 'e2e-hourly', ['running'])).map((instance) => instance.InstanceId).sort();
    expect(after).toEqual(before);
  }, 300_000);

  it("max_cost: once the run's instances cost that much, the run is stopped with a line saying so", async () => {
    const launch = await katapult(['launch', configs.budget, '--detach'], env);
    expect(launch.stderr).toBe('');
    expect(launch.code).toBe(0);
    const runId = runIdOf(launch.stdout)!;
    const run = await waitFor(
      async () => {
        const status = await statusOf(runId);
        return status.state === 'aborted' && status;
      },
      { what: 'the run stopped by max_cost', timeoutMs: 120_000, intervalMs: 500 },
    );
    expect(run.stopReason).toMatch(/^max_cost \$0\.001 reached: the run's instances cost ~\$0\.00\d+ so far; the run is stopped$/);
    expect(run.jobs.map((job) => [job.id, job.state, job.message])).toEqual([['hello', 'aborted', run.stopReason]]);
    const text = await katapult(['status', runId], env);
    expect(text.stdout).toContain(`stopped by the coordinator: ${run.stopReason}`);
    expect(await coordinatorLog()).toContain(`max_cost: run ${runId}: ${run.stopReason}`);
    // Its instance is terminated at once, not after auto_stop.
    await waitFor(async () => (await projectInstances(clients, 'e2e-budget', ['pending', 'running'])).length === 0, {
      what: "the stopped run's instance terminated",
      timeoutMs: 60_000,
      intervalMs: 500,
    });
    expect(await coordinatorLog()).toMatch(new RegExp(`max_cost: pool e2e-budget/[0-9a-f]{8} of run ${runId} stopped: aws-`));
  }, 300_000);

  it('down leaves nothing of either project', async () => {
    // The run stopped by max_cost had its one instance and no other: its pool was not started again.
    expect(
      await projectInstances(clients, 'e2e-budget', ['pending', 'running', 'shutting-down', 'stopping', 'stopped', 'terminated']),
    ).toHaveLength(1);
    for (const [name, project] of [
      ['hourly', 'e2e-hourly'],
      ['budget', 'e2e-budget'],
    ] as const) {
      const down = await katapult(['down', configs[name]], env);
      expect(down.code).toBe(0);
      expect(await countProjectResources(clients, project)).toEqual(NOTHING_LEFT);
    }
  }, 300_000);
});
