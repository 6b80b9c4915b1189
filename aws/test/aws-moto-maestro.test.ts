import { EC2Client, DescribeInstancesCommand } from '@aws-sdk/client-ec2';
import { IAMClient } from '@aws-sdk/client-iam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireDocker, startMoto, type MotoServer } from '@katapult/testkit';
import { downProject, launchMaestro, type AwsClients } from '../src/index.js';

/** The maestro's launch against moto (a real EC2/IAM emulator): the AMI it picks, and down removing all of it. */
describe('launchMaestro against moto', () => {
  let moto: MotoServer;
  let clients: AwsClients;
  beforeAll(async () => {
    await requireDocker();
    moto = await startMoto();
    const config = { endpoint: moto.url, region: 'eu-west-3', credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' } };
    clients = { ec2: new EC2Client(config), iam: new IAMClient(config) };
  });
  afterAll(async () => {
    await moto?.stop();
  });

  const launch = (project: string, imageId: string | null) =>
    launchMaestro(clients, {
      owner: { project, runId: 'maestro' },
      cluster: project,
      region: 'eu-west-3',
      imageId,
      allowedCidr: '198.51.100.7/32',
      userData: '#!/bin/bash\necho maestro\n',
      pollMs: 200,
    });
  const imageOf = async (instanceId: string) =>
    (await clients.ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }))).Reservations?.[0]?.Instances?.[0]?.ImageId;

  it('without maestro_img_id takes the latest Debian 12 AMI; with it, that AMI; down leaves nothing of either', async () => {
    const debian = await launch('maestro-debian', null);
    expect(debian.publicIp).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(await imageOf(debian.instanceId)).toBe('ami-0de12a0000000002');

    const chosen = await launch('maestro-chosen', 'ami-0a1a000000000001');
    expect(await imageOf(chosen.instanceId)).toBe('ami-0a1a000000000001');

    const missing = await launch('maestro-missing', 'ami-0000000000000bad').catch((error: Error) => error);
    expect(missing).toMatchObject({ code: 'KP_AWS_IMAGE_NOT_FOUND' });
    expect((missing as Error & { toLine(): string }).toLine()).toContain('maestro_img_id must be an AMI');

    for (const project of ['maestro-debian', 'maestro-chosen', 'maestro-missing']) {
      const removed = await downProject(clients, project, { pollMs: 200 });
      expect(removed.items.length).toBeGreaterThan(0);
      expect((await downProject(clients, project, { dryRun: true })).items).toEqual([]);
    }
  }, 120_000);
});
