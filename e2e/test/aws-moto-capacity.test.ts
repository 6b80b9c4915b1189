import { writeFile } from 'node:fs/promises';
import { DescribeSubnetsCommand } from '@aws-sdk/client-ec2';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  logMessages,
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
/** The second region of the region lists. */
const OTHER_REGION = 'eu-west-1';

interface StatusJob {
  id: string;
  state: string;
  waiting?: string | null;
}

describe('provider: aws, type and region lists: the next zone, then type, then region is tried when AWS refuses one (moto, behind a proxy refusing chosen calls)', () => {
  let moto: MotoServer;
  let proxy: FaultProxy;
  let registry: RegistryServer;
  let clients: MotoClients;
  let otherClients: MotoClients;
  let env: NodeJS.ProcessEnv;
  let home: string;
  const configs: Record<'fallback' | 'refused' | 'regions' | 'nowhere' | 'zones', string> = {
    fallback: '',
    refused: '',
    regions: '',
    nowhere: '',
    zones: '',
  };
  /** The default subnet of the region's first zone, which has no capacity for the project e2e-zones. */
  let firstZone = { subnetId: '', zone: '' };

  beforeAll(async () => {
    await requireDocker();
    [moto, registry] = await Promise.all([startMoto(), startRegistry()]);
    // AWS has no c5.large capacity right now, and offers no m5 here; the project e2e-regions finds no capacity at all in Paris.
    proxy = await startFaultProxy(moto.url, (params, region) => {
      if (params['Action'] !== 'RunInstances') return undefined;
      if (region === REGION && Object.values(params).includes('e2e-regions')) return 'InsufficientInstanceCapacity';
      if (Object.values(params).includes('e2e-zones') && Object.values(params).includes(firstZone.subnetId))
        return 'InsufficientInstanceCapacity';
      if (params['InstanceType'] === 'c5.large') return 'InsufficientInstanceCapacity';
      if (params['InstanceType']?.startsWith('m5.')) return 'Unsupported';
      return undefined;
    });
    clients = motoClients(moto.url, REGION);
    otherClients = motoClients(moto.url, OTHER_REGION);
    const subnets =
      (await clients.ec2.send(new DescribeSubnetsCommand({ Filters: [{ Name: 'default-for-az', Values: ['true'] }] }))).Subnets ?? [];
    const [first] = [...subnets].sort((a, b) => `${a.AvailabilityZone}${a.SubnetId}`.localeCompare(`${b.AvailabilityZone}${b.SubnetId}`));
    firstZone = { subnetId: first!.SubnetId!, zone: first!.AvailabilityZone! };
    home = await tempDir('e2e-aws-capacity');
    const dir = await tempDir('e2e-aws-capacity-project');
    const write = async (name: keyof typeof configs, project: string, types: string, regions = REGION) => {
      configs[name] = join(dir, `${name}.yaml`);
      await writeFile(
        configs[name],
        [
          `project: ${project}`,
          'provider: aws',
          'maestro_address: 127.0.0.1',
          `registry: ${registry.host}`,
          `instances: [{type: [${types}], number: 2, region: ${regions}}]`,
          'jobs: [{name: hello, run_command: "echo hello"}]',
          '',
        ].join('\n'),
      );
    };
    await write('fallback', 'e2e-fallback', 'c5.large, t3.large');
    await write('refused', 'e2e-refused', 'm5.large, m5.xlarge');
    await write('regions', 'e2e-regions', 'c5.large, t3.large', `[${REGION}, ${OTHER_REGION}]`);
    await write('nowhere', 'e2e-nowhere', 'm5.large', `[${REGION}, ${OTHER_REGION}]`);
    await write('zones', 'e2e-zones', 't3.large');
    env = {
      KATAPULT_HOME: home,
      KATAPULT_NATS_LISTEN: '127.0.0.1',
      AWS_ENDPOINT_URL: proxy.url,
      AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
      AWS_MAX_ATTEMPTS: '1',
      // For ls, which has no config: the profile's region.
      AWS_REGION: REGION,
    };
  });
  afterAll(async () => {
    if (env) for (const config of Object.values(configs)) if (config) await katapult(['down', config], env);
    await proxy?.close();
    await registry?.stop();
    await moto?.stop();
  });

  /** Why the first job of a run (default the latest) waits, as `status --json` says. */
  const waitingOf = async (runId?: string) => {
    const status = await katapult(['status', ...(runId ? [runId] : []), '--json'], env);
    const [run] = JSON.parse(status.stdout) as Array<{ jobs: StatusJob[] }>;
    return run!.jobs[0]?.waiting ?? '';
  };
  const runIdOf = (stdout: string) => /r-\d{8}-\d{6}-[0-9a-z]+/.exec(stdout)?.[0];

  it('c5.large has no capacity: the entry is launched as t3.large, and status says so', async () => {
    const launch = await katapult(['launch', configs.fallback, '--detach'], env);
    expect(launch.stderr).toBe('');
    expect(launch.code).toBe(0);
    const live = await waitFor(
      async () => {
        const instances = await projectInstances(clients, 'e2e-fallback', ['pending', 'running']);
        return instances.length >= 2 && instances;
      },
      { what: '2 instances of e2e-fallback', timeoutMs: 120_000, intervalMs: 500 },
    );
    expect(live.map((instance) => instance.InstanceType)).toEqual(['t3.large', 't3.large']);
    expect(proxy.refused).toContain('RunInstances c5.large InsufficientInstanceCapacity');

    const runId = runIdOf(launch.stdout + launch.stderr)!;
    expect(runId).toBeDefined();
    const waiting = await waitFor(
      async () => {
        const reason = await waitingOf(runId);
        return reason.includes('launched') && reason;
      },
      { what: 'the launch choice in status', timeoutMs: 60_000, intervalMs: 500 },
    );
    expect(waiting).toContain(
      `launched on-demand t3.large in ${live[0]!.Placement!.AvailabilityZone} (refused: on-demand c5.large: InsufficientInstanceCapacity)`,
    );
  }, 300_000);

  it('every type refused: nothing is launched, one line says why, and status shows it', async () => {
    const launch = await katapult(['launch', configs.refused, '--detach'], env);
    expect(launch.stderr).toBe(
      'KP_AWS_NO_CAPACITY instances[0]: AWS refused every choice in eu-west-3: on-demand m5.large: Unsupported; on-demand m5.xlarge: Unsupported ' +
        '(add types to instances[].type (a list is tried in order), raise max_bid, or try later)\n',
    );
    expect(launch.code).toBe(3);
    // The run is kept (the coordinator goes on trying), and status says why its job waits.
    const waiting = await waitFor(
      async () => {
        const reason = await waitingOf();
        return reason.includes('no instance launched') && reason;
      },
      { what: 'the refusals in status', timeoutMs: 120_000, intervalMs: 500 },
    );
    expect(waiting).toContain('no instance launched: AWS refused on-demand m5.large: Unsupported; on-demand m5.xlarge: Unsupported');
    expect(await projectInstances(clients, 'e2e-refused')).toEqual([]);
    expect(proxy.refused).toEqual(expect.arrayContaining(['RunInstances m5.large Unsupported', 'RunInstances m5.xlarge Unsupported']));
    const log = logMessages({ file: join(home, 'logs', 'coordinator.log') });
    expect(log).toContain('aws: instances[0]: no on-demand m5.large (Unsupported); trying on-demand m5.xlarge');
    expect(log).not.toMatch(/\n\s+at /);
  }, 300_000);

  it("ls --aws lists what every project has, tagged, with the instances' type, market and age", async () => {
    const ls = await katapult(['ls', '--aws', '--json'], env);
    expect(ls.stderr).toBe('');
    expect(ls.code).toBe(0);
    const report = JSON.parse(ls.stdout) as {
      regions: string[];
      resources: Array<{ project: string; kind: string; id: string; detail: string; ageSeconds: number | null }>;
    };
    expect(report.regions).toEqual([REGION]);
    const kinds = (project: string) =>
      report.resources
        .filter((row) => row.project === project)
        .map((row) => row.kind)
        .sort();
    expect(kinds('e2e-fallback')).toEqual(['instance', 'instance', 'instance profile', 'role', 'security group']);
    expect(kinds('e2e-refused')).toEqual(['instance profile', 'role', 'security group']);
    const instances = report.resources.filter((row) => row.kind === 'instance');
    expect(instances.map((row) => row.detail)).toEqual(['t3.large on-demand running', 't3.large on-demand running']);
    for (const row of instances) expect(row.ageSeconds).toBeGreaterThanOrEqual(0);

    const text = await katapult(['ls', '--aws'], env);
    expect(text.code).toBe(0);
    expect(text.stdout.split('\n')[0]).toMatch(/^PROJECT\s+KIND\s+ID\s+REGION\s+DETAIL\s+AGE\s+\$\/H$/);
    expect(text.stdout).toMatch(
      new RegExp(`^e2e-fallback\\s+instance\\s+${instances[0]!.id}\\s+${REGION}\\s+t3\\.large on-demand running`, 'm'),
    );
    expect(text.stdout).toContain(`${report.resources.length} resources in ${REGION}, 2 instances`);
  }, 300_000);

  it('a region list: every type refused in the first region, the entry is launched in the next, and status says where', async () => {
    const launch = await katapult(['launch', configs.regions, '--detach'], env);
    expect(launch.stderr).toBe('');
    expect(launch.code).toBe(0);
    const live = await waitFor(
      async () => {
        const instances = await projectInstances(otherClients, 'e2e-regions', ['pending', 'running']);
        return instances.length >= 2 && instances;
      },
      { what: `2 instances of e2e-regions in ${OTHER_REGION}`, timeoutMs: 120_000, intervalMs: 500 },
    );
    // c5.large has no capacity anywhere; t3.large has some in Ireland.
    expect(live.map((instance) => instance.InstanceType)).toEqual(['t3.large', 't3.large']);
    expect(live.map((instance) => instance.Placement?.AvailabilityZone?.startsWith(OTHER_REGION))).toEqual([true, true]);
    expect(await projectInstances(clients, 'e2e-regions')).toEqual([]);
    expect(proxy.refusedIn).toEqual(
      expect.arrayContaining([
        `${REGION} RunInstances c5.large InsufficientInstanceCapacity`,
        `${REGION} RunInstances t3.large InsufficientInstanceCapacity`,
      ]),
    );
    const zone = live[0]!.Placement!.AvailabilityZone!;
    const runId = runIdOf(launch.stdout + launch.stderr)!;
    const waiting = await waitFor(
      async () => {
        const reason = await waitingOf(runId);
        return reason.includes('launched') && reason;
      },
      { what: 'the launch choice in status', timeoutMs: 60_000, intervalMs: 500 },
    );
    expect(waiting).toContain(
      `launched on-demand t3.large in ${zone} (refused: ${REGION} on-demand c5.large: InsufficientInstanceCapacity; ` +
        `${REGION} on-demand t3.large: InsufficientInstanceCapacity; ${OTHER_REGION} on-demand c5.large: InsufficientInstanceCapacity)`,
    );
    const log = logMessages({ file: join(home, 'logs', 'coordinator.log') });
    expect(log).toContain(`aws: instances[0]: AWS refused every choice in ${REGION}; trying ${OTHER_REGION}`);
  }, 300_000);

  it("a region list refused everywhere: one line naming each region's refusals, and nothing launched", async () => {
    const launch = await katapult(['launch', configs.nowhere, '--detach'], env);
    expect(launch.stderr).toBe(
      `KP_AWS_NO_CAPACITY instances[0]: AWS refused every choice in every region (${REGION}, ${OTHER_REGION}): ${REGION} on-demand m5.large: Unsupported; ` +
        `${OTHER_REGION} on-demand m5.large: Unsupported (add types to instances[].type or regions to instances[].region (lists are tried in order), raise max_bid, or try later)\n`,
    );
    expect(launch.code).toBe(3);
    expect(await projectInstances(clients, 'e2e-nowhere')).toEqual([]);
    expect(await projectInstances(otherClients, 'e2e-nowhere')).toEqual([]);
  }, 300_000);

  it("a zone without capacity: the entry is launched in the region's next zone, and status says which", async () => {
    const launch = await katapult(['launch', configs.zones, '--detach'], env);
    expect(launch.stderr).toBe('');
    expect(launch.code).toBe(0);
    const live = await waitFor(
      async () => {
        const instances = await projectInstances(clients, 'e2e-zones', ['pending', 'running']);
        return instances.length >= 2 && instances;
      },
      { what: '2 instances of e2e-zones', timeoutMs: 120_000, intervalMs: 500 },
    );
    const zones = live.map((instance) => instance.Placement?.AvailabilityZone);
    expect(zones).not.toContain(firstZone.zone);
    expect(zones[0]).toMatch(new RegExp(`^${REGION}[a-z]$`));
    expect(proxy.refusedIn).toContain(`${REGION} RunInstances t3.large InsufficientInstanceCapacity`);
    const runId = runIdOf(launch.stdout + launch.stderr)!;
    const waiting = await waitFor(
      async () => {
        const reason = await waitingOf(runId);
        return reason.includes('launched') && reason;
      },
      { what: 'the launch choice in status', timeoutMs: 60_000, intervalMs: 500 },
    );
    expect(waiting).toContain(
      `launched on-demand t3.large in ${zones[0]} (refused: on-demand t3.large in ${firstZone.zone}: InsufficientInstanceCapacity)`,
    );
    const log = logMessages({ file: join(home, 'logs', 'coordinator.log') });
    expect(log).toContain(
      `aws: instances[0]: no on-demand t3.large in ${firstZone.zone} (InsufficientInstanceCapacity); trying ${zones[0]}`,
    );
  }, 300_000);

  it('down leaves nothing of any project, in either region', async () => {
    for (const [name, project] of [
      ['fallback', 'e2e-fallback'],
      ['refused', 'e2e-refused'],
      ['regions', 'e2e-regions'],
      ['nowhere', 'e2e-nowhere'],
      ['zones', 'e2e-zones'],
    ] as const) {
      const down = await katapult(['down', configs[name]], env);
      expect(down.code).toBe(0);
      expect(await countProjectResources(clients, project)).toEqual(NOTHING_LEFT);
      expect(await countProjectResources(otherClients, project)).toEqual(NOTHING_LEFT);
    }
    expect((await katapult(['ls', '--aws'], env)).stdout).toBe(`no AWS resource is tagged katapult:project in ${REGION}\n`);
  }, 300_000);
});
