import { describe, expect, it } from 'vitest';
import {
  blockDeviceMappings,
  formatPrice,
  instanceSpecHash,
  lifetimeSeconds,
  runInstancesInput,
  type LaunchInput,
} from '../src/launch-input.js';
import { resourceName } from '../src/tags.js';
import { instancesOf } from './aws-helpers.js';

/** The pure part of the AWS provider: a config's instances entry → the exact RunInstances input. */
const now = new Date('2026-11-25T10:00:00Z');
const base = (yaml: string, market: LaunchInput['market'] = 'on-demand'): LaunchInput => ({
  spec: instancesOf(yaml)[0]!,
  pool: 'demo/0123abcd',
  count: 2,
  market,
  owner: { project: 'demo', runId: 'r-20261125-100000-abcd' },
  cluster: 'c1',
  image: { imageId: 'ami-0123', rootDeviceName: '/dev/xvda' },
  subnetId: 'subnet-a',
  securityGroupId: 'sg-1',
  instanceProfileName: 'katapult-demo',
  userData: '#!/bin/bash\necho hi\n',
  clientToken: 'token-1',
  now,
});

const tagsOf = (input: ReturnType<typeof runInstancesInput>, type: string) =>
  Object.fromEntries(input.TagSpecifications!.find((spec) => spec.ResourceType === type)!.Tags!.map((tag) => [tag.Key, tag.Value]));

describe('RunInstances input', () => {
  it('on-demand: type, disk, profile, security group, subnet, user-data in base64, IMDSv2, tags on instance and volume', () => {
    const launch = base('instances: [{type: m6i.large, cpus: 2, number: 2, disk_size: 40, disk_type: gp3}]');
    const input = runInstancesInput(launch);
    const hash = instanceSpecHash(launch.spec);
    const tags = [
      { Key: 'katapult:project', Value: 'demo' },
      { Key: 'katapult:run', Value: 'r-20261125-100000-abcd' },
      { Key: 'Name', Value: 'katapult-demo-0' },
      { Key: 'katapult:cluster', Value: 'c1' },
      { Key: 'katapult:group', Value: '0' },
      { Key: 'katapult:spec', Value: hash },
      { Key: 'katapult:pool', Value: 'demo/0123abcd' },
      { Key: 'katapult:market', Value: 'on-demand' },
    ];
    expect(input).toEqual({
      ImageId: 'ami-0123',
      InstanceType: 'm6i.large',
      MinCount: 1,
      MaxCount: 2,
      ClientToken: 'token-1',
      SubnetId: 'subnet-a',
      SecurityGroupIds: ['sg-1'],
      IamInstanceProfile: { Name: 'katapult-demo' },
      UserData: Buffer.from('#!/bin/bash\necho hi\n').toString('base64'),
      InstanceInitiatedShutdownBehavior: 'terminate',
      MetadataOptions: { HttpTokens: 'required', HttpEndpoint: 'enabled', HttpPutResponseHopLimit: 1 },
      BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { DeleteOnTermination: true, VolumeSize: 40, VolumeType: 'gp3' } }],
      TagSpecifications: [
        { ResourceType: 'instance', Tags: tags },
        { ResourceType: 'volume', Tags: tags },
      ],
    });
  });

  it('spot (eco): a one-time request terminated on interruption, max_bid as MaxPrice, the request tagged too', () => {
    const input = runInstancesInput(base('instances: [{type: c6g.xlarge, eco: true, max_bid: 0.05, eco_life: 2h}]', 'spot'));
    expect(input.InstanceMarketOptions).toEqual({
      MarketType: 'spot',
      SpotOptions: { SpotInstanceType: 'one-time', InstanceInterruptionBehavior: 'terminate', MaxPrice: '0.05' },
    });
    expect(input.InstanceMarketOptions!.SpotOptions).not.toHaveProperty('ValidUntil');
    expect(input.TagSpecifications!.map((spec) => spec.ResourceType)).toEqual(['instance', 'volume', 'spot-instances-request']);
    expect(tagsOf(input, 'instance')).toMatchObject({ 'katapult:market': 'spot', 'katapult:expires': '2026-11-25T12:00:00.000Z' });
    expect(input).not.toHaveProperty('BlockDeviceMappings');
  });

  it('spot without max_bid pays the current spot price; on-demand has no market options', () => {
    expect(runInstancesInput(base('instances: [{eco: true}]', 'spot')).InstanceMarketOptions!.SpotOptions).toEqual({
      SpotInstanceType: 'one-time',
      InstanceInterruptionBehavior: 'terminate',
    });
    const input = runInstancesInput(base('instances: [{eco: true}]', 'on-demand'));
    expect(input).not.toHaveProperty('InstanceMarketOptions');
    expect(input.InstanceType).toBe('t3.micro');
    expect(tagsOf(input, 'instance')['katapult:market']).toBe('on-demand');
  });

  it('adds the key pair when there is one', () => {
    expect(runInstancesInput({ ...base('instances: [{}]'), keyName: 'katapult-demo' }).KeyName).toBe('katapult-demo');
  });

  it('eco_life: seconds or a duration, only with eco', () => {
    expect(lifetimeSeconds(instancesOf('instances: [{eco: true, eco_life: 5400}]')[0]!)).toBe(5400);
    expect(lifetimeSeconds(instancesOf('instances: [{eco: true, eco_life: "1h30m"}]')[0]!)).toBe(5400);
    expect(lifetimeSeconds(instancesOf('instances: [{eco: true, eco_life: "1:30:00"}]')[0]!)).toBe(5400);
    expect(lifetimeSeconds(instancesOf('instances: [{eco: true}]')[0]!)).toBeNull();
    expect(lifetimeSeconds(instancesOf('instances: [{eco: false, eco_life: 2h}]')[0]!)).toBeNull();
  });

  it('disk: only the size, only the type, or neither; the root device of the AMI', () => {
    const [sized] = instancesOf('instances: [{disk_size: 100}]');
    expect(blockDeviceMappings(sized!, '/dev/sda1')).toEqual([
      { DeviceName: '/dev/sda1', Ebs: { DeleteOnTermination: true, VolumeSize: 100 } },
    ]);
    const [typed] = instancesOf('instances: [{disk_type: io2}]');
    expect(blockDeviceMappings(typed!, undefined)).toEqual([
      { DeviceName: '/dev/xvda', Ebs: { DeleteOnTermination: true, VolumeType: 'io2' } },
    ]);
    expect(blockDeviceMappings(instancesOf('instances: [{}]')[0]!, '/dev/xvda')).toBeUndefined();
  });

  it('prices are decimal strings; names fit IAM; the spec hash follows the AWS settings only', () => {
    expect(formatPrice(0.05)).toBe('0.05');
    expect(formatPrice(1)).toBe('1');
    expect(formatPrice(0.00125)).toBe('0.00125');
    expect(resourceName('demo')).toBe('katapult-demo');
    expect(resourceName('x'.repeat(63))).toHaveLength(64);
    const [a, b, c] = instancesOf('instances: [{type: t3.small, number: 1}, {type: t3.small, number: 5}, {type: t3.large}]');
    expect(instanceSpecHash(a!)).toBe(instanceSpecHash(b!));
    expect(instanceSpecHash(a!)).not.toBe(instanceSpecHash(c!));
  });

  it('eco_fallback defaults to true and can be turned off', () => {
    expect(instancesOf('instances: [{eco: true}]')[0]!.ecoFallback).toBe(true);
    expect(instancesOf('instances: [{eco: true, eco_fallback: false}]')[0]!.ecoFallback).toBe(false);
  });
});
