import type Docker from 'dockerode';
import { agentLeaseMs, plural, secretsKey, selfFenceDue, type Assignment, type Log } from '@katapult/core';
import type { AgentConfig } from './config.js';
import { connectAgentBus, type AgentBus } from './bus/agent-bus.js';
import { INTERRUPTED, runJobAttempt } from './runner/job-runner.js';
import { openJobFileStore } from './files/file-store.js';
import { imagePuller } from './runner/image-pull.js';
import { agentAuthSources } from './runner/registry-auth.js';
import { jobCgroupParent } from './runner/agent-cgroup.js';
import { InterruptionWatch, type SpotNotice } from './spot/interruption-watch.js';
import { serveExec } from './exec/exec-service.js';

export interface RunningAgent {
  bus: AgentBus;
  running(): Assignment[];
  /**
   * The instance is going away: take no more assignments, give up every running attempt (each is reported
   * lost, to be requeued elsewhere) and leave the cluster. Resolves when all that is done; a second call
   * returns the same promise. A spot interruption notice calls it.
   */
  interrupt(reason: string): Promise<void>;
  stop(): Promise<void>;
}

/** Registers with the coordinator (heartbeats in the agents bucket) and runs every assignment it receives. */
export async function startAgent(config: AgentConfig, docker: Docker, log: Log): Promise<RunningAgent> {
  const bus = await connectAgentBus({ ...config, log });
  const files = await openJobFileStore(bus.nc, bus.names, config.agentId, config.cacheDir);
  const puller = imagePuller(agentAuthSources(config.registry));
  const cgroupParent = config.jobsInAgentCgroup ? await jobCgroupParent(docker, log) : undefined;
  const running = new Map<string, { assignment: Assignment; stop: AbortController; settled: Promise<void> }>();
  /** Set once the instance is going away: from then on the agent no longer heartbeats nor takes work. */
  let leaving: Promise<void> | undefined;
  let lastBeat: Promise<void> = Promise.resolve();
  /** When the last heartbeat NATS stored was sent (monotonic): the lease runs from there (see core's lease.ts). */
  let renewedAt: number | undefined;
  const beat = () => {
    if (leaving) return lastBeat;
    fenceIfLeaseLost();
    const sentAt = performance.now();
    lastBeat = bus.heartbeat([...running.values()].map((entry) => entry.assignment)).then(
      () => void (renewedAt = Math.max(renewedAt ?? sentAt, sentAt)),
      (error: unknown) => log(`heartbeat failed: ${String(error)}`),
    );
    return lastBeat;
  };
  // When NATS itself closed the connection (a server restart), every party lost it: the coordinator gives each
  // agent a whole lease once it is back, so the jobs keep running (see docs/ARCHITECTURE.md, fencing).
  let disconnectedAt: number | undefined;
  void (async () => {
    for await (const status of bus.nc.status()) if (status.type === 'disconnect') disconnectedAt = performance.now();
  })();
  // Cut off from NATS while its connection looks up (a partition, a stalled server) past most of its lease, the
  // agent stops its job containers before the coordinator may run them elsewhere; each attempt is given up as
  // lost, like an interrupted one.
  const fenceIfLeaseLost = () => {
    if (!selfFenceDue(renewedAt, performance.now(), config.heartbeatMs)) return;
    if (disconnectedAt !== undefined && disconnectedAt > renewedAt!) return;
    const runningOn = [...running.values()].filter((entry) => !entry.stop.signal.aborted);
    if (runningOn.length === 0) return;
    const silentS = ((performance.now() - renewedAt!) / 1000).toFixed(1);
    log(
      `no heartbeat stored for ${silentS}s (the coordinator takes an agent for lost after ${agentLeaseMs(config.heartbeatMs) / 1000}s): stopping ${runningOn.length} job container(s), to be run again elsewhere`,
      { level: 'warn' },
    );
    for (const entry of runningOn) entry.stop.abort(INTERRUPTED);
  };
  await beat();
  const timer = setInterval(() => void beat(), config.heartbeatMs);

  const attemptKey = (job: { runId: string; jobId: string; attempt: number }) => `${job.runId}.${job.jobId}.${job.attempt}`;
  bus.onStopRequest((request) => {
    const entry = running.get(attemptKey(request));
    if (!entry || entry.stop.signal.aborted) return;
    log(`stopping ${request.runId}/${request.jobId} attempt ${request.attempt}, as the coordinator asks`, {
      runId: request.runId,
      jobId: request.jobId,
      attempt: request.attempt,
    });
    entry.stop.abort();
  });

  const exec = serveExec({
    nc: bus.nc,
    names: bus.names,
    docker,
    agentId: config.agentId,
    running: () => [...running.values()].map((entry) => entry.assignment),
    log,
  });

  void bus
    .consumeAssignments(async (assignment) => {
      if (leaving) throw new Error('this agent is leaving'); // nak'd, left to the coordinator
      const key = attemptKey(assignment);
      const stop = new AbortController();
      const attempt = runJobAttempt(docker, assignment, bus.sinkFor(assignment), {
        agentId: config.agentId,
        stackLabel: config.stackLabel,
        files,
        instance: { cpus: config.cpus, memoryBytes: config.memoryBytes },
        signal: stop.signal,
        log,
        pullImage: puller,
        ...(cgroupParent ? { cgroupParent } : {}),
        ...(config.natsPassword ? { secretsKey: secretsKey(config.natsPassword, 'agent') } : {}),
      });
      running.set(key, { assignment, stop, settled: attempt.catch(() => undefined) });
      void beat();
      log(`running ${assignment.runId}/${assignment.jobId} attempt ${assignment.attempt}`, {
        runId: assignment.runId,
        jobId: assignment.jobId,
        attempt: assignment.attempt,
      });
      try {
        await attempt;
      } finally {
        running.delete(key);
        void beat();
      }
    })
    .catch((error: unknown) => log(`assignment consumer stopped: ${String(error)}`, { level: 'error' }));

  const interrupt = (reason: string): Promise<void> => {
    leaving ??= (async () => {
      log(`${reason}: taking no more jobs, giving up ${running.size} running, leaving the cluster`, { level: 'warn' });
      clearInterval(timer);
      bus.stopTaking();
      // The heartbeat entry goes first, so that the coordinator does not place the attempts given up here back
      // on this agent. A heartbeat still on its way could land after the delete: wait for it.
      await lastBeat;
      await bus.deregister().catch((error: unknown) => log(`could not leave the agents bucket: ${String(error)}`));
      const givenUp = [...running.values()];
      for (const entry of givenUp) entry.stop.abort(INTERRUPTED);
      // Each runner kills its container, reports the attempt lost and removes the container.
      await Promise.all(givenUp.map((entry) => entry.settled));
      await bus.deregister().catch(() => undefined);
      log(`left the cluster; ${plural(givenUp.length, 'attempt')} given up`);
    })();
    return leaving;
  };

  const watch = config.metadataUrl
    ? new InterruptionWatch({
        baseUrl: config.metadataUrl,
        pollMs: config.metadataPollMs,
        log,
        onNotice: (notice: SpotNotice) =>
          void interrupt(`spot interruption notice (${notice.action}${notice.time ? ` at ${notice.time}` : ''})`),
      })
    : undefined;
  watch?.start();

  return {
    bus,
    running: () => [...running.values()].map((entry) => entry.assignment),
    interrupt,
    async stop() {
      watch?.stop();
      exec.stop();
      clearInterval(timer);
      await bus.close();
    },
  };
}
