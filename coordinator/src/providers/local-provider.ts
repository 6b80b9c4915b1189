import { randomBytes } from 'node:crypto';
import type Docker from 'dockerode';
import {
  encodeAgentEnv,
  LABELS,
  poolIdOf,
  type AgentCredentialIssuer,
  type EnsureContext,
  type InstanceSpec,
  type Pool,
  type Provider,
} from '@katapult/core';

export interface LocalProviderOptions {
  agentImage: string;
  natsUrl: string;
  /** Issues each agent its own NATS user; without it agents connect with no credentials (a NATS without auth). */
  credentials?: AgentCredentialIssuer;
  /** The stack's CA certificate (PEM) when NATS requires TLS. */
  natsCa?: string;
  cluster: string;
  /** Label value on every container of this stack. */
  stackLabel: string;
  /** Path of the Docker socket on this machine, mounted into each agent so it can start job containers. */
  dockerSocket: string;
  heartbeatMs: number;
  /** The read-only registry's pull credentials, given to every agent for the environment images. */
  registryPull?: RegistryPullCredentials;
}

export interface RegistryPullCredentials {
  host: string;
  username: string;
  password: string;
}

/**
 * Processes an agent and all its jobs may have at once. Jobs are capped at 4096 each (agent/src/runner/host-config.ts);
 * their containers sit under the agent container's cgroup (KATAPULT_JOBS_IN_AGENT_CGROUP), so this caps them together:
 * fork bombs in several jobs of one instance do not add up to the host's limit.
 */
export const AGENT_PIDS_LIMIT = 8192;

const { stack: STACK, role: ROLE, agent: AGENT, slot: SLOT, pool: POOL } = LABELS;

/**
 * The local default: each "instance" is an agent container on this machine's Docker, with host networking so
 * it reaches NATS on 127.0.0.1. Each pool (poolIdOf: a project's `instances` entry) has its own slots 0..number-1,
 * labelled with the pool; a container that died is replaced by a new agent with a new id
 * (`local-<pool hash>-<slot>-<suffix>`), as a replaced cloud instance would have, so the jobs of the one that
 * died are seen as lost and requeued, never confused with it.
 */
export class LocalProvider implements Provider {
  readonly name = 'local';

  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly docker: Docker,
    private readonly options: LocalProviderOptions,
  ) {}

  /** One call at a time: a submission and the coordinator's check may ask at once, and a slot gets one agent. */
  ensure(instances: readonly InstanceSpec[], context: EnsureContext): Promise<string[]> {
    return this.serialized(() => this.ensureNow(instances, context.project));
  }

  stopPool(pool: Pool): Promise<string[]> {
    return this.serialized(() => this.terminateNow(pool.id));
  }

  terminateAll(): Promise<string[]> {
    return this.serialized(() => this.terminateNow());
  }

  /** The agent's container and its job containers, removed whether the agent is dead, paused or still running. */
  fence(agentId: string): Promise<void> {
    return this.serialized(async () => {
      const containers = await this.docker.listContainers({
        all: true,
        filters: { label: [`${STACK}=${this.options.stackLabel}`, `${AGENT}=${agentId}`] },
      });
      for (const container of containers) await this.docker.getContainer(container.Id).remove({ force: true });
      this.options.credentials?.revoke(agentId);
    });
  }

  private serialized<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(work, work);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async ensureNow(instances: readonly InstanceSpec[], project: string): Promise<string[]> {
    const ids: string[] = [];
    for (const spec of instances) {
      const pool = poolIdOf(project, 'local', spec);
      const existing = await this.agentContainers(pool);
      for (let slot = 0; slot < spec.number; slot++) {
        const found = existing.find((container) => container.Labels[SLOT] === String(slot));
        if (found?.State === 'running') {
          ids.push(found.Labels[AGENT] ?? found.Id);
          continue;
        }
        if (found) await this.removeInstance(found);
        const agentId = `local-${poolHash(pool)}-${slot}-${randomBytes(2).toString('hex')}`;
        await this.startAgent(pool, slot, agentId, spec);
        ids.push(agentId);
      }
    }
    return ids;
  }

  private async terminateNow(pool?: string): Promise<string[]> {
    const removed: string[] = [];
    for (const container of await this.agentContainers(pool)) {
      await this.removeInstance(container);
      removed.push(container.Labels[AGENT] ?? container.Id);
    }
    return removed;
  }

  /** What losing a cloud instance does: the agent goes, and every job container it started goes with it. */
  private async removeInstance(agent: Docker.ContainerInfo): Promise<void> {
    const agentId = agent.Labels[AGENT];
    const jobs = agentId
      ? await this.docker.listContainers({
          all: true,
          filters: { label: [`${STACK}=${this.options.stackLabel}`, `${ROLE}=job`, `${AGENT}=${agentId}`] },
        })
      : [];
    for (const container of [agent, ...jobs])
      await this.docker
        .getContainer(container.Id)
        .remove({ force: true })
        .catch(() => undefined);
    if (agentId) this.options.credentials?.revoke(agentId);
  }

  /** The stack's agent containers, or one pool's. */
  private async agentContainers(pool?: string): Promise<Docker.ContainerInfo[]> {
    return this.docker.listContainers({
      all: true,
      filters: { label: [`${STACK}=${this.options.stackLabel}`, `${ROLE}=agent`, ...(pool ? [`${POOL}=${pool}`] : [])] },
    });
  }

  private async startAgent(pool: string, slot: number, agentId: string, spec: InstanceSpec): Promise<void> {
    const { options } = this;
    const nats = options.credentials?.issue(agentId);
    const container = await this.docker.createContainer({
      name: `kp-${options.stackLabel}-${poolHash(pool)}-${slot}`,
      Image: options.agentImage,
      Env: Object.entries(
        encodeAgentEnv({
          natsUrl: options.natsUrl,
          ...(nats ? { natsUser: nats.user, natsPassword: nats.pass } : {}),
          ...(options.natsCa ? { natsCa: options.natsCa } : {}),
          cluster: options.cluster,
          agentId,
          instanceId: agentId,
          pool,
          cpus: spec.cpus,
          // The config's word, as for cpus: jobs get these GPUs only if this machine's Docker has the NVIDIA runtime.
          gpus: spec.gpus ?? 0,
          // What the instance offers to jobs: a job with no memory of its own gets its cpus' share.
          ...(typeof spec.memoryBytes === 'number' ? { memoryBytes: spec.memoryBytes } : {}),
          stackLabel: options.stackLabel,
          heartbeatMs: options.heartbeatMs,
          jobsInAgentCgroup: true,
          ...(options.registryPull
            ? {
                registry: {
                  serveraddress: options.registryPull.host,
                  username: options.registryPull.username,
                  password: options.registryPull.password,
                },
              }
            : {}),
        }),
      ).map(([name, value]) => `${name}=${value}`),
      Labels: { [STACK]: options.stackLabel, [ROLE]: 'agent', [AGENT]: agentId, [POOL]: pool, [SLOT]: String(slot) },
      HostConfig: {
        NetworkMode: 'host',
        Binds: [`${options.dockerSocket}:/var/run/docker.sock`],
        RestartPolicy: { Name: 'no' },
        PidsLimit: AGENT_PIDS_LIMIT,
      },
    });
    await container.start();
  }
}

/** The hash part of a pool id (`<project>/<hash>`): what names its containers, as a project name may be long. */
function poolHash(pool: string): string {
  return pool.slice(pool.lastIndexOf('/') + 1);
}
