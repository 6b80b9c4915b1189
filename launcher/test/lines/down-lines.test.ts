import { describe, expect, it } from 'vitest';
import { KEPT_REPOSITORY_REASON } from '../../src/aws/aws-down.js';
import { describeAwsItem, downEventLine } from '../../src/lines/down-lines.js';

describe('downEventLine', () => {
  it("says the local stack's down in the lines `katapult down` has always printed", () => {
    expect(downEventLine({ type: 'container-removed', name: 'katapult-agent-1' })).toBe('removed container katapult-agent-1');
    expect(downEventLine({ type: 'process-stopped', name: 'coordinator' })).toBe('stopped coordinator');
    expect(downEventLine({ type: 'nothing-running' })).toBe('nothing was running');
    expect(downEventLine({ type: 'image-tag-removed', tag: '127.0.0.1:5000/katapult/env:abc' })).toBe(
      'removed image tag 127.0.0.1:5000/katapult/env:abc',
    );
    expect(downEventLine({ type: 'no-image-tag' })).toBe("no local image tag of this stack's registry");
    expect(downEventLine({ type: 'would-stop-stack' })).toBe(
      'would stop the local stack (agent and job containers, coordinator, registry, nats-server)',
    );
  });

  it('says each AWS resource removed, or that would be, with its name when it has one', () => {
    expect(downEventLine({ type: 'aws-item', action: 'removed', item: { kind: 'instance', id: 'i-01', name: 'katapult-demo-0' } })).toBe(
      'removed instance i-01 (katapult-demo-0)',
    );
    expect(downEventLine({ type: 'aws-item', action: 'would-remove', item: { kind: 'vpc', id: 'vpc-1' } })).toBe('would remove vpc vpc-1');
    expect(downEventLine({ type: 'aws-item', action: 'removed', item: { kind: 'role', id: 'katapult-demo' } })).toBe(
      'removed role katapult-demo',
    );
  });

  it('says an ECR repository goes with its images, is kept with its reason, and when nothing is tagged', () => {
    const repository = { kind: 'ECR repository', id: 'katapult/env' } as const;
    expect(downEventLine({ type: 'aws-item', action: 'removed', item: repository })).toBe(
      'removed ECR repository katapult/env with its images',
    );
    expect(downEventLine({ type: 'aws-item', action: 'would-remove', item: repository })).toBe(
      'would remove ECR repository katapult/env with its images',
    );
    expect(downEventLine({ type: 'aws-kept', item: { ...repository, reason: KEPT_REPOSITORY_REASON } })).toBe(
      "ECR repository katapult/env kept: its images are content-tagged and shared by every launch of the account's projects; --images removes it",
    );
    expect(downEventLine({ type: 'aws-nothing-tagged', project: 'demo' })).toBe('no AWS resource is tagged katapult:project=demo');
  });
});

describe('describeAwsItem', () => {
  it('leaves out a name that only repeats the id', () => {
    expect(describeAwsItem({ kind: 'key pair', id: 'katapult-demo', name: 'katapult-demo' })).toBe('key pair katapult-demo');
    expect(describeAwsItem({ kind: 'security group', id: 'sg-1', name: 'katapult-demo' })).toBe('security group sg-1 (katapult-demo)');
  });
});
