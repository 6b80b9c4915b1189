import type Docker from 'dockerode';
import type { InstanceSpec } from '@katapult/core';
import type { Provider } from './provider.js';

export interface LocalProviderOptions {
  agentImage: string;
  natsUrl: string;
  cluster: string;
  /** Label value on every container of this stack. */
  stackLabel: string;
  /** Path of the Docker socket on this machine, mounted into each agent so it can start job containers. */
  dockerSocket: string;
  heartbeatMs: number;
}

const STACK = 'katapult.stack';
const ROLE = 'katapult.role';
const AGENT = 'katapult.agent';

/**
 * The local default: each "instance" is an agent container on this machine's Docker, with host networking so
 * it reaches NATS on 127.0.0.1. Instances are numbered across the config's `instances` entries (local-0, ...).
 */
export class LocalProvider implements Provider {
  readonly name = 'local';

  constructor(
    private readonly docker: Docker,
    private readonly options: LocalProviderOptions,
  ) {}

  async ensure(instances: readonly InstanceSpec[]): Promise<string[]> {
    const existing = await this.agentContainers();
    const wanted = instances.flatMap((spec) => Array.from({ length: spec.number }, () => spec));
    const ids: string[] = [];
    for (const [index, spec] of wanted.entries()) {
      const agentId = `local-${index}`;
      ids.push(agentId);
      const found = existing.find((container) => container.Labels[AGENT] === agentId);
      if (found?.State === 'running') continue;
      if (found) await this.docker.getContainer(found.Id).remove({ force: true });
      await this.startAgent(agentId, spec.cpus);
    }
    return ids;
  }

  async terminateAll(): Promise<string[]> {
    const removed: string[] = [];
    for (const container of await this.agentContainers()) {
      await this.docker.getContainer(container.Id).remove({ force: true });
      removed.push(container.Labels[AGENT] ?? container.Id);
    }
    return removed;
  }

  private async agentContainers(): Promise<Docker.ContainerInfo[]> {
    return this.docker.listContainers({
      all: true,
      filters: { label: [`${STACK}=${this.options.stackLabel}`, `${ROLE}=agent`] },
    });
  }

  private async startAgent(agentId: string, cpus: number): Promise<void> {
    const { options } = this;
    const container = await this.docker.createContainer({
      name: `kp-${options.stackLabel}-${agentId}`,
      Image: options.agentImage,
      Env: [
        `KATAPULT_NATS_URL=${options.natsUrl}`,
        `KATAPULT_CLUSTER=${options.cluster}`,
        `KATAPULT_AGENT_ID=${agentId}`,
        `KATAPULT_INSTANCE_ID=${agentId}`,
        `KATAPULT_CPUS=${cpus}`,
        `KATAPULT_STACK_LABEL=${options.stackLabel}`,
        `KATAPULT_HEARTBEAT_MS=${options.heartbeatMs}`,
      ],
      Labels: { [STACK]: options.stackLabel, [ROLE]: 'agent', [AGENT]: agentId },
      HostConfig: {
        NetworkMode: 'host',
        Binds: [`${options.dockerSocket}:/var/run/docker.sock`],
        RestartPolicy: { Name: 'no' },
      },
    });
    await container.start();
  }
}
