import type { DownEvent } from '../stack/down-events.js';

/** How an AWS resource is named in a line: `instance i-0abc (katapult-demo-0)`. */
export function describeAwsItem(item: { kind: string; id: string; name?: string | undefined }): string {
  const name = item.name && item.name !== item.id ? ` (${item.name})` : '';
  return `${item.kind} ${item.id}${name}`;
}

/** A `down` event as the line `katapult down` prints for it. */
export function downEventLine(event: DownEvent): string {
  switch (event.type) {
    case 'container-removed':
      return `removed container ${event.name}`;
    case 'process-stopped':
      return `stopped ${event.name}`;
    case 'nothing-running':
      return 'nothing was running';
    case 'image-tag-removed':
      return `removed image tag ${event.tag}`;
    case 'no-image-tag':
      return "no local image tag of this stack's registry";
    case 'would-stop-stack':
      return 'would stop the local stack (agent and job containers, coordinator, registry, nats-server)';
    case 'aws-item': {
      // An ECR repository goes with every image in it, which the line says.
      const images = event.item.kind === 'ECR repository' ? ' with its images' : '';
      return `${event.action === 'removed' ? 'removed' : 'would remove'} ${describeAwsItem(event.item)}${images}`;
    }
    case 'aws-kept':
      return `${describeAwsItem(event.item)} ${event.item.reason}`;
    case 'aws-nothing-tagged':
      return `no AWS resource is tagged katapult:project=${event.project}`;
  }
}
