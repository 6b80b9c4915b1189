import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  ACTIVE_STATES,
  KatapultError,
  applyJobEvent,
  attemptsToStop,
  jobKey,
  stopRequestCodec,
  assignmentCodec,
  jobReportCodec,
  planAssignments,
  runStateOf,
  type AgentCapacity,
  type AgentRecord,
  type ClusterNames,
  type JobEvent,
  type JobRecord,
  type JobReport,
} from '@katapult/core';
import type { RunRecord, Store, Versioned } from './store/store.js';
import { ensureContextOf, type Provider } from './providers/provider.js';
import type { NatsLink } from './nats-link.js';
import { applyStoredJobEvent } from './store/apply-event.js';

const STOP_RESEND_MS = 3_000;
const SWEEP_MS = 20_000;
const GONE_FOR_MS = 60_000;

export interface CoordinatorOptions {
  tickMs: number;
  /** How long an assigned job may go unclaimed by a live agent before it counts as lost. */
  lostGraceMs: number;
  log: (line: string) => void;
  now?: () => number;
  /** Starts and stops instances: replaces those that died while a run has work, stops them all when idle (auto_stop). */
  provider?: Provider;
  /** Whether NATS is reachable, and since when; agents are only judged on heartbeats seen since then. */
  link?: NatsLink;
  /** How often the instances of running runs are checked. */
  instanceCheckMs?: number;
  /**
   * New work goes only to agents heard from this recently. An agent killed a moment ago keeps its record until
   * it expires (and it is declared lost); meanwhile it must not be given jobs, nor must the agents of a stack
   * brought down and up again.
   */
  freshAgentMs?: number;
}

/**
 * The coordinator's loops: reports from agents move jobs through their lifecycle; a periodic tick requeues the
 * jobs of lost agents, places pending jobs on agents with free cpus, and closes finished runs. Decisions come
 * from core (applyJobEvent, planAssignments); this file reads state, commits with compare-and-set, publishes.
 */
export class Coordinator {
  private timer: NodeJS.Timeout | undefined;
  private ticking = false;
  private readonly now: () => number;
  /** When each stop request was last sent, so a slow agent is asked again, but not on every tick. */
  private readonly stopsSent = new Map<string, number>();
  private startedAt = 0;
  private instancesCheckedAt = 0;
  private sweptAt = 0;
  /** Consumers of agents with no heartbeat entry, and since when they were seen so. */
  private readonly goneSince = new Map<string, number>();
  /** The run after whose end the instances were last stopped, so they are stopped once, not on every tick. */
  private autoStoppedAfter: string | undefined;
  private managingInstances: Promise<void> | undefined;
  private lastInstanceError: string | undefined;

  constructor(
    private readonly nc: NatsConnection,
    private readonly names: ClusterNames,
    private readonly store: Store,
    private readonly options: CoordinatorOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  async start(): Promise<void> {
    this.startedAt = this.now();
    await this.consumeReports();
    this.timer = setInterval(() => void this.tick(), this.options.tickMs);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** One pass of liveness, scheduling and run completion. Skipped if the previous pass is still going. */
  async tick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    try {
      const allRuns = await this.store.listRuns();
      const runs = allRuns.filter((run) => run.state === 'running');
      const agents = await this.store.listAgents();
      for (const run of runs) await this.requeueLost(run, agents);
      // Read after the requeues, so the jobs they put back are placed in this same pass.
      const jobsByRun = await Promise.all(runs.map((run) => this.store.listJobs(run.id)));
      const fresh = agents.filter((agent) => this.now() - agent.heardAt <= (this.options.freshAgentMs ?? Number.POSITIVE_INFINITY));
      await this.schedule(runs, jobsByRun, fresh);
      await this.stopStrayAttempts(agents, jobsByRun.flat());
      for (const [index, run] of runs.entries()) await this.closeIfFinished(run, jobsByRun[index]!.map((entry) => entry.value));
      this.manageInstancesAside(runs, allRuns);
      await this.forgetGoneAgents(agents);
    } catch (error) {
      this.options.log(`tick failed: ${String(error)}`);
    } finally {
      this.ticking = false;
    }
  }

  private async requeueLost(run: RunRecord, agents: AgentRecord[]): Promise<void> {
    // After NATS was away (or this coordinator was), heartbeat entries may have expired while every agent was
    // fine: the agents get a full grace period to heartbeat again before any of them is taken for lost.
    if (this.now() - (this.options.link?.connectedSince ?? this.startedAt) < this.options.lostGraceMs) return;
    const live = new Set(agents.map((agent) => agent.agentId));
    for (const { value: job } of await this.store.listJobs(run.id)) {
      if (!ACTIVE_STATES.has(job.state) || !job.agentId || live.has(job.agentId)) continue;
      if (this.now() - (job.assignedAt ?? 0) < this.options.lostGraceMs) continue;
      this.options.log(`agent ${job.agentId} is gone; ${run.id}/${job.id} attempt ${job.attempt} is lost`);
      await this.applyEvent(run.id, job.id, { type: 'agent_lost', attempt: job.attempt });
    }
  }

  private async schedule(runs: RunRecord[], jobsByRun: Versioned<JobRecord>[][], agents: AgentRecord[]): Promise<void> {
    const allJobs = jobsByRun.flat().map((entry) => entry.value);
    const used = new Map<string, { cpus: number; gpus: number }>();
    for (const job of allJobs) {
      if (!ACTIVE_STATES.has(job.state) || !job.agentId) continue;
      const sum = used.get(job.agentId) ?? { cpus: 0, gpus: 0 };
      used.set(job.agentId, { cpus: sum.cpus + job.cpusReq, gpus: sum.gpus + (job.gpusReq ?? 0) });
    }
    const capacity: AgentCapacity[] = agents.map((agent) => ({
      id: agent.agentId,
      cpus: agent.cpus,
      usedCpus: used.get(agent.agentId)?.cpus ?? 0,
      gpus: agent.gpus ?? 0,
      usedGpus: used.get(agent.agentId)?.gpus ?? 0,
    }));
    // Runs are served oldest first; each run's placements take their cpus before the next run is planned.
    for (const [index, run] of runs.entries()) {
      const pending = jobsByRun[index]!.filter((entry) => entry.value.state === 'pending');
      if (pending.length === 0) continue;
      const plan = planAssignments(
        pending.map(({ value }) => ({ key: value.id, cpusReq: value.cpusReq, gpusReq: value.gpusReq ?? 0 })),
        capacity,
        { policy: run.jobAssign },
      );
      const pendingById = new Map(pending.map((entry) => [entry.value.id, entry]));
      for (const placement of plan.placements) {
        const entry = pendingById.get(placement.jobKey)!;
        if (await this.assign(entry, placement.agentId)) {
          const agent = capacity.find((slot) => slot.id === placement.agentId)!;
          agent.usedCpus += entry.value.cpusReq;
          agent.usedGpus = (agent.usedGpus ?? 0) + (entry.value.gpusReq ?? 0);
        }
      }
    }
  }

  /** Commit first, then publish: a job is never sent to an agent unless the store says it is assigned there. */
  private async assign(entry: Versioned<JobRecord>, agentId: string): Promise<boolean> {
    const result = applyJobEvent(entry.value, { type: 'assign', agentId }, this.now());
    if (!result.changed || !(await this.store.updateJob(result.job, entry.revision))) return false;
    const job = result.job;
    const message = assignmentCodec.encode({
      v: 1,
      runId: job.runId,
      jobId: job.id,
      attempt: job.attempt,
      image: job.image,
      runCommand: job.runCommand,
      cpus: job.cpusReq,
      gpus: job.gpusReq ?? 0,
      // Records stored before jobs had these fields get what jobs had then: no limit of their own, Docker's network.
      memoryBytes: job.memoryBytes ?? null,
      network: job.network ?? 'bridge',
      files: job.files,
      outputFiles: job.outputFiles,
    });
    await jetstream(this.nc).publish(this.names.assignmentSubject(agentId), message, {
      msgID: `${job.runId}.${job.id}.${job.attempt}`,
    });
    this.options.log(`assigned ${job.runId}/${job.id} attempt ${job.attempt} to ${agentId}`);
    return true;
  }

  /**
   * Asks agents to stop attempts that should not run (cancelled, or superseded after their agent was taken for
   * lost). Stop requests go over core NATS, so a lost one is simply sent again on a later tick.
   */
  private async stopStrayAttempts(agents: AgentRecord[], known: Versioned<JobRecord>[]): Promise<void> {
    const jobs = new Map(known.map(({ value }) => [jobKey(value.runId, value.id), value]));
    for (const agent of agents) {
      for (const { runId, jobId } of agent.running) {
        const key = jobKey(runId, jobId);
        if (!jobs.has(key)) {
          const entry = await this.store.getJob(runId, jobId);
          if (entry) jobs.set(key, entry.value);
        }
      }
    }
    const now = this.now();
    for (const [key, sentAt] of this.stopsSent) if (now - sentAt > 20 * STOP_RESEND_MS) this.stopsSent.delete(key);
    for (const stop of attemptsToStop(agents, (runId, jobId) => jobs.get(jobKey(runId, jobId)))) {
      const key = `${stop.agentId}.${stop.runId}.${stop.jobId}.${stop.attempt}`;
      if (now - (this.stopsSent.get(key) ?? 0) < STOP_RESEND_MS) continue;
      this.stopsSent.set(key, now);
      this.nc.publish(this.names.stopSubject(stop.agentId), stopRequestCodec.encode({ v: 1, runId: stop.runId, jobId: stop.jobId, attempt: stop.attempt }));
      this.options.log(`asked ${stop.agentId} to stop ${stop.runId}/${stop.jobId} attempt ${stop.attempt}`);
    }
  }

  /**
   * Starting instances can take minutes on a cloud (IAM, capacity retries), so it runs beside the tick, which
   * keeps scheduling meanwhile; one pass at a time, and a failure is logged when it differs from the last one.
   */
  private manageInstancesAside(running: RunRecord[], all: RunRecord[]): void {
    if (this.managingInstances) return;
    this.managingInstances = this.manageInstances(running, all)
      .then(() => {
        this.lastInstanceError = undefined;
      })
      .catch((error: unknown) => {
        const line = error instanceof KatapultError ? error.toLine() : String(error);
        if (line !== this.lastInstanceError) this.options.log(`instances: ${line}`);
        this.lastInstanceError = line;
      })
      .finally(() => {
        this.managingInstances = undefined;
      });
  }

  /**
   * While a run has work, its instances are kept up: one that died is replaced (its jobs are requeued once its
   * heartbeat is gone). With no run going, instances are stopped once the latest run has been over for its
   * `auto_stop` seconds.
   */
  private async manageInstances(running: RunRecord[], all: RunRecord[]): Promise<void> {
    const { provider } = this.options;
    if (!provider) return;
    const now = this.now();
    if (running.length > 0) {
      this.autoStoppedAfter = undefined;
      if (now - this.instancesCheckedAt < (this.options.instanceCheckMs ?? 5_000)) return;
      this.instancesCheckedAt = now;
      // Runs sharing instances share a placement; the latest run of each says which instances it needs.
      const latestByPlacement = new Map<string, RunRecord>();
      for (const run of running) latestByPlacement.set(placementKey(run), run);
      for (const latest of latestByPlacement.values()) {
        await provider.ensure(latest.instances, ensureContextOf(latest));
      }
      return;
    }
    const finished = all.filter((run) => run.finishedAt !== null).sort((a, b) => a.finishedAt! - b.finishedAt!).at(-1);
    if (!finished || finished.autoStopSeconds === null || finished.autoStopSeconds === undefined) return;
    if (this.autoStoppedAfter === finished.id || now - finished.finishedAt! < finished.autoStopSeconds * 1000) return;
    this.autoStoppedAfter = finished.id;
    const stopped = await provider.terminateAll();
    if (stopped.length > 0) this.options.log(`auto_stop: no work for ${finished.autoStopSeconds}s; stopped ${stopped.join(', ')}`);
  }

  /**
   * A gone agent leaves a durable consumer and maybe assignments it never took; its jobs were requeued under
   * new attempts, so both are removed once it has had no heartbeat entry for GONE_FOR_MS (checked every SWEEP_MS).
   */
  private async forgetGoneAgents(agents: AgentRecord[]): Promise<void> {
    const now = this.now();
    if (now - this.sweptAt < SWEEP_MS || now - (this.options.link?.connectedSince ?? this.startedAt) < this.options.lostGraceMs) return;
    this.sweptAt = now;
    const live = new Set(agents.map((agent) => this.names.agentConsumer(agent.agentId)));
    const jsm = await jetstreamManager(this.nc);
    const seen = new Set<string>();
    for await (const consumer of jsm.consumers.list(this.names.streams.assignments)) {
      const name = consumer.config.durable_name;
      if (!name || live.has(name)) continue;
      seen.add(name);
      const goneSince = this.goneSince.get(name) ?? now;
      this.goneSince.set(name, goneSince);
      if (now - goneSince < GONE_FOR_MS) continue;
      this.goneSince.delete(name);
      if (consumer.config.filter_subject) await jsm.streams.purge(this.names.streams.assignments, { filter: consumer.config.filter_subject });
      await jsm.consumers.delete(this.names.streams.assignments, name);
      this.options.log(`forgot gone agent's consumer ${name} and its unclaimed assignments`);
    }
    for (const name of this.goneSince.keys()) if (!seen.has(name)) this.goneSince.delete(name);
  }

  /** Placing jobs never makes one final, so the list read before scheduling tells whether the run is over. */
  private async closeIfFinished(run: RunRecord, jobs: JobRecord[]): Promise<void> {
    const state = runStateOf(jobs);
    if (state === 'running') return;
    await this.store.putRun({ ...run, state, finishedAt: Math.max(...jobs.map((job) => job.finishedAt ?? 0)) });
    this.options.log(`run ${run.id} finished: ${state}`);
  }

  private async consumeReports(): Promise<void> {
    const jsm = await jetstreamManager(this.nc);
    await jsm.consumers.add(this.names.streams.events, {
      durable_name: this.names.eventsConsumer,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
    });
    const consumer = await jetstream(this.nc).consumers.get(this.names.streams.events, this.names.eventsConsumer);
    const messages = await consumer.consume();
    void (async () => {
      for await (const message of messages) {
        const decoded = jobReportCodec.decode(message.data);
        if (!decoded.ok) {
          this.options.log(`dropping a malformed report on ${message.subject}: ${decoded.error}`);
          message.term();
          continue;
        }
        try {
          await this.applyEvent(decoded.value.runId, decoded.value.jobId, toJobEvent(decoded.value));
          message.ack();
        } catch (error) {
          this.options.log(`report not applied yet (${String(error)}); it will be redelivered`);
          message.nak(1000);
        }
      }
    })();
  }

  private async applyEvent(runId: string, jobId: string, event: JobEvent): Promise<void> {
    const outcome = await applyStoredJobEvent(this.store, runId, jobId, event, this.now());
    if (outcome.applied) this.options.log(`${runId}/${jobId} attempt ${outcome.after.attempt}: ${outcome.before.state} -> ${outcome.after.state}`);
    else if (outcome.why.startsWith('no job')) this.options.log(`report for unknown job ${runId}/${jobId} dropped`);
  }
}

function toJobEvent(report: JobReport): JobEvent {
  switch (report.type) {
    case 'pulling':
    case 'running':
      return { type: report.type, attempt: report.attempt };
    case 'exited':
      return {
        type: 'exited',
        attempt: report.attempt,
        exitCode: report.exitCode ?? -1,
        ...(report.outputs ? { outputs: report.outputs } : {}),
        ...(report.ranMs === undefined ? {} : { ranMs: report.ranMs }),
      };
    case 'start_failed':
      return { type: 'start_failed', attempt: report.attempt, message: report.message ?? 'the job could not start' };
    case 'lost':
      return { type: 'agent_lost', attempt: report.attempt };
  }
}

/** Local runs all share this machine's agent slots; AWS runs share instances when their placement is the same. */
function placementKey(run: RunRecord): string {
  const placement = run.placement;
  return placement?.provider === 'aws' ? JSON.stringify(['aws', placement.profile, placement.agentImage, placement.maestroAddress, run.project]) : 'local';
}
