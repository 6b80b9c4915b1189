import { randomBytes } from 'node:crypto';
import {
  CreateSecurityGroupCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeInstanceTypesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  DescribeVpcsCommand,
  EC2Client,
  RunInstancesCommand,
} from '@aws-sdk/client-ec2';
import {
  CreateInstanceProfileCommand,
  CreateRoleCommand,
  GetInstanceProfileCommand,
  GetRoleCommand,
  IAMClient,
  NoSuchEntityException,
} from '@aws-sdk/client-iam';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { clusterNames, loadConfig, type CreateRunRequest, type InstanceSpec } from '@katapult/core';
import { startNats, waitFor, type NatsServer } from '@katapult/testkit';
import { NoLocalProvider } from '../src/providers/no-local-provider.js';
import { awsProviderFactory } from '@katapult/aws';
import { buildServer, Coordinator, ensureStreams, openJetStreamStore, ProviderRouter, RunService, type Provider } from '../src/index.js';

const ec2 = mockClient(EC2Client);
const iam = mockClient(IAMClient);
const CA = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const AGENT_IMAGE = `123456789012.dkr.ecr.eu-west-3.amazonaws.com/katapult/agent@sha256:${'0a1b2c'.repeat(10)}0a1b`;
const TOKEN = randomBytes(32).toString('hex');
const names = clusterNames('placement');

function awsAccount() {
  ec2.on(DescribeVpcsCommand).resolves({ Vpcs: [{ VpcId: 'vpc-default', IsDefault: true }] });
  ec2.on(DescribeSubnetsCommand).resolves({ Subnets: [{ SubnetId: 'subnet-a', AvailabilityZone: 'eu-west-3a' }] });
  ec2.on(DescribeSecurityGroupsCommand).resolves({ SecurityGroups: [] });
  ec2.on(CreateSecurityGroupCommand).resolves({ GroupId: 'sg-1' });
  iam.on(GetRoleCommand).rejects(new NoSuchEntityException({ message: 'not found', $metadata: {} }));
  iam.on(GetInstanceProfileCommand).rejects(new NoSuchEntityException({ message: 'not found', $metadata: {} }));
  iam.on(CreateRoleCommand).resolves({});
  iam.on(CreateInstanceProfileCommand).resolves({});
  ec2.on(DescribeInstancesCommand).resolves({ Reservations: [] });
  ec2
    .on(DescribeInstanceTypesCommand)
    .resolves({ InstanceTypes: [{ InstanceType: 't3.large', ProcessorInfo: { SupportedArchitectures: ['x86_64'] } }] });
  ec2
    .on(DescribeImagesCommand)
    .resolves({ Images: [{ ImageId: 'ami-1', CreationDate: '2026-11-01T00:00:00.000Z', RootDeviceName: '/dev/xvda' }] });
  let next = 0;
  ec2.on(RunInstancesCommand).callsFake((input: { MaxCount: number }) => ({
    Instances: Array.from({ length: input.MaxCount }, () => ({ InstanceId: `i-0${(++next).toString(16).padStart(4, '0')}` })),
  }));
}

class LocalStandIn implements Provider {
  readonly name = 'local';
  readonly ensured: string[] = [];
  async ensure(_instances: readonly InstanceSpec[], context?: { runId: string }) {
    this.ensured.push(context?.runId ?? '');
    return [];
  }
  async stopPool() {
    return [];
  }
  async terminateAll() {
    return [];
  }
}

describe("where a run's instances come from (placement)", () => {
  describe('through the coordinator, on a real NATS', () => {
    let nats: NatsServer;
    let nc: NatsConnection;
    beforeAll(async () => {
      nats = await startNats();
      nc = await connect({ servers: nats.url });
      await ensureStreams(nc, names);
    });
    afterAll(async () => {
      await nc?.close();
      await nats?.stop();
    });
    beforeEach(() => {
      ec2.reset();
      iam.reset();
    });

    const issued: string[] = [];
    const router = (local: Provider) =>
      new ProviderRouter(
        local,
        awsProviderFactory({
          cluster: 'placement',
          natsUrl: 'nats://127.0.0.1:41234',
          natsCa: CA,
          credentials: {
            issue: (agentId) => (issued.push(agentId), { user: `agent-${agentId}`, pass: 'secret' }),
            revoke: () => undefined,
          },
          stackLabel: 's1',
          heartbeatMs: 2000,
          log: () => undefined,
        }),
      );

    it('a run with provider aws starts EC2 instances booting agents that dial back; a local run stays local; a restarted coordinator keeps them up', async () => {
      awsAccount();
      const store = await openJetStreamStore(nc, names, { agentTtlMs: 60_000 });
      const local = new LocalStandIn();
      const api = buildServer(new RunService(store, router(local)), { token: TOKEN });
      const config = (provider: string) =>
        loadConfig(
          `project: demo\n${provider}instances: [{type: t3.large, cpus: 2, number: 2, region: eu-west-3}]\njobs: [{name: a, run_command: "true"}]\n`,
          'demo.yaml',
          { defaultCpus: 2 },
        );
      const submit = (request: CreateRunRequest) =>
        api.inject({ method: 'POST', url: '/runs', payload: request, headers: { authorization: `Bearer ${TOKEN}` } });

      const onAws = await submit({
        spec: config('provider: aws\nregistry: ecr\nmaestro_address: 203.0.113.5\n'),
        configFile: 'demo.yaml',
        images: {
          default:
            '123456789012.dkr.ecr.eu-west-3.amazonaws.com/katapult/env@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
        },
        agentImage: AGENT_IMAGE,
        files: {},
      });
      expect(onAws.statusCode).toBe(201);
      const launched = ec2.commandCalls(RunInstancesCommand).map((call) => call.args[0].input);
      expect(launched).toHaveLength(2);
      const script = Buffer.from(launched[0]!.UserData!, 'base64').toString('utf8');
      expect(script).toContain('KATAPULT_NATS_URL=tls://203.0.113.5:41234\n');
      expect(script).toContain(`KATAPULT_AGENT_ID=${issued[0]}\n`);
      expect(script).toContain(`AGENT_IMAGE=${AGENT_IMAGE}`);
      expect(local.ensured).toEqual([]);

      const onLocal = await submit({
        spec: config(''),
        configFile: 'local.yaml',
        images: { default: '127.0.0.1:5000/katapult/env@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' },
        files: {},
      });
      expect(onLocal.statusCode).toBe(201);
      expect(local.ensured).toEqual([onLocal.json<{ runId: string }>().runId]);
      expect(ec2.commandCalls(RunInstancesCommand)).toHaveLength(2);

      // A new coordinator process (new providers, nothing in memory) finds the AWS run's placement in the store
      // and checks its instances on EC2, where DescribeInstances lists the two it launched.
      ec2.on(DescribeInstancesCommand).resolves({
        Reservations: [
          {
            Instances: ['i-00001', 'i-00002'].map((InstanceId) => ({
              InstanceId,
              Tags: [
                { Key: 'katapult:group', Value: '0' },
                { Key: 'katapult:pool', Value: tagOf(launched[0]!, 'katapult:pool') },
              ],
            })),
          },
        ],
      });
      ec2.resetHistory();
      const restarted = new Coordinator(nc, names, await openJetStreamStore(nc, names, { agentTtlMs: 60_000 }), {
        tickMs: 3_600_000,
        lostGraceMs: 0,
        instanceCheckMs: 0,
        log: () => undefined,
        provider: router(new LocalStandIn()),
      });
      await restarted.tick();
      await waitFor(() => ec2.commandCalls(DescribeInstancesCommand).length > 0, {
        what: 'the restarted coordinator to look at EC2',
        timeoutMs: 5_000,
      });
      expect(ec2.commandCalls(DescribeInstancesCommand)[0]!.args[0].input.Filters).toContainEqual({
        Name: 'tag:katapult:project',
        Values: ['demo'],
      });
      expect(ec2.commandCalls(RunInstancesCommand)).toHaveLength(0);
      restarted.stop();
      await api.close();
    });

    it("on the maestro (no local provider): AWS agents get the certificate's name, a local run is refused before it is stored", async () => {
      awsAccount();
      const maestro = clusterNames('maestro-placement');
      await ensureStreams(nc, maestro);
      const store = await openJetStreamStore(nc, maestro, { agentTtlMs: 60_000 });
      const routed = new ProviderRouter(
        new NoLocalProvider(),
        awsProviderFactory({
          cluster: 'maestro-placement',
          natsUrl: 'tls://127.0.0.1:4222',
          natsCa: CA,
          natsTlsName: 'maestro.katapult',
          stackLabel: 's2',
          heartbeatMs: 2000,
          log: () => undefined,
        }),
      );
      const api = buildServer(new RunService(store, routed), { token: TOKEN });
      const spec = (provider: string) =>
        loadConfig(
          `project: far\n${provider}instances: [{type: t3.large, cpus: 2, number: 1, region: eu-west-3}]\njobs: [{name: a, run_command: "true"}]\n`,
          'far.yaml',
          {
            defaultCpus: 2,
          },
        );
      const submit = (request: CreateRunRequest) =>
        api.inject({ method: 'POST', url: '/runs', payload: request, headers: { authorization: `Bearer ${TOKEN}` } });

      const onAws = await submit({
        spec: spec('provider: aws\nregistry: ecr\nmaestro_address: 203.0.113.9\n'),
        configFile: 'far.yaml',
        images: {
          default:
            '123456789012.dkr.ecr.eu-west-3.amazonaws.com/katapult/env@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
        },
        agentImage: AGENT_IMAGE,
        files: {},
      });
      expect(onAws.statusCode).toBe(201);
      const script = Buffer.from(ec2.commandCalls(RunInstancesCommand)[0]!.args[0].input.UserData!, 'base64').toString('utf8');
      expect(script).toContain('KATAPULT_NATS_URL=tls://203.0.113.9:4222\n');
      expect(script).toContain('KATAPULT_NATS_TLS_NAME=maestro.katapult\n');

      const onLocal = await submit({
        spec: spec(''),
        configFile: 'far.yaml',
        images: { default: '127.0.0.1:5000/katapult/env@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' },
        files: {},
      });
      expect(onLocal.statusCode).toBe(400);
      expect(onLocal.json()).toMatchObject({ code: 'KP_MAESTRO_NO_LOCAL' });
      expect((await store.listRuns()).map((run) => run.id)).toEqual([onAws.json<{ runId: string }>().runId]);
      await api.close();
    });
  });
});

function tagOf(input: { TagSpecifications?: { Tags?: { Key?: string; Value?: string }[] }[] }, key: string): string {
  return input.TagSpecifications?.[0]?.Tags?.find((tag) => tag.Key === key)?.Value ?? '';
}
