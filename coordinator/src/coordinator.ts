import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, type JsMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  ACTIVE_STATES,
  KatapultError,
  dependencyDecisions,
  isFinal,
  applyJobEvent,
  attemptsToStop,
  foreignOutputs,
  jobKey,
  stopRequestCodec,
  assignmentCodec,
  jobReportCodec,
  planAssignments,
  planWindowed,
  plural,
  runStateOf,
  attemptContext,
  openSecrets,
  runContext,
  sealSecrets,
  secretsKey,
  type AgentCapacity,
  type AgentRecord,
  type ClusterNames,
  type JobEvent,
  type JobRecord,
  type JobReport,
  type Log,
  type LogFields,
  type PendingJob,
  type Provider,
} from '@katapult/core';
import type { HeardAgent, RunRecord, Store, Versioned } from './store/store.js';
import { inParallel, KeyedBatcher } from './pipeline.js';
import type { NatsLink } from './nats-link.js';
import { PoolKeeper, poolIdsOf } from './pool-keeper.js';
import { applyStoredJobEvent, applyStoredJobEvents, type ApplyOutcome } from './store/apply-event.js';

const STOP_RESEND_MS = 3_000;
/** KV writes and publishes of one pass in flight at once. */
const WRITES_IN_FLIGHT = 128;
/** Reports being applied at once (each one a compare-and-set). */
const REPORTS_IN_FLIGHT = 256;
/** How old the agents' records read by the last tick may be for a placement pass to use them. */
const AGENTS_FRESH_FOR_MS = 250;
const SWEEP_MS = 20_000;
const GONE_FOR_MS = 60_000;

export interface CoordinatorOptions {
  tickMs: number;
  /** How long an assigned job may go unclaimed by a live agent before it counts as lost. */
  lostGraceMs: number;
  log: Log;
  now?: () => number;
  /** Keeps each pool's instances while a run needs them, stops them after its auto_stop; shared with the RunService. */
  pools?: PoolKeeper;
  /** Without `pools`: the provider a keeper of this coordinator's own is made with. */
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
  /** The key runs' secret values are sealed under in their records (the RunService's). */
  secretsKey?: Buffer;
  /** The NATS password of an agent with a user of its own: each attempt's secrets are sealed for its agent under it. */
  agentSecret?: (agentId: string) => string | undefined;
}

/**
 * The coordinator's loops: reports from agents move jobs through their lifecycle; placement passes, asked for
 * whenever a job becomes pending or cpus are freed, put pending jobs on their pools' agents; a periodic tick
 * requeues the jobs of lost agents, stops stray attempts and closes finished runs. It reads the store's in-memory
 * view; decisions come from core (applyJobEvent, planAssignments); this file commits with compare-and-set and
 * publishes.
 */
export class Coordinator {
  private timer: NodeJS.Timeout | undefined;
  private ticking = false;
  private readonly now: () => number;
  /** When each stop request was last sent, so a slow agent is asked again, but not on every tick. */
  private readonly stopsSent = new Map<string, number>();
  private startedAt = 0;
  private sweptAt = 0;
  /** Consumers of agents with no heartbeat entry, and since when they were seen so. */
  private readonly goneSince = new Map<string, number>();
  private readonly pools: PoolKeeper | undefined;
  /** Why each pending job was left waiting by the last placement pass, by job key. */
  private waiting = new Map<string, string>();
  /** The agents' records as the last tick read them; placement passes between ticks use them. */
  private agents: HeardAgent[] = [];
  private agentsReadAt = 0;
  /** Agents that gave an attempt up (`lost`: their instance is going away): no new work, whatever their record says. */
  /**
   * Agents that gave an attempt up (a `lost` report), by the report's time on the agent's clock: one leaving (a spot
   * interruption) deletes its heartbeat first, but one that fenced itself (its lease ran out) stays and heartbeats on.
   * A heartbeat the agent stored after its report takes it back; one already on its way when it left does not.
   */
  private readonly leaving = new Map<string, number>();
  /** Pending jobs of the last placement pass it did not read (no room was left), by run: their reasons are found when asked. */
  private waitingRest = new Map<string, WaitingRest>();
  private nextPass: Promise<void> | undefined;
  /** Assignments planned whose commit has not settled, by job key: not planned again, their cpus taken. */
  private readonly committing = new Map<string, Held>();

  constructor(
    private readonly nc: NatsConnection,
    private readonly names: ClusterNames,
    private readonly store: Store,
    private readonly options: CoordinatorOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.pools =
      options.pools ??
      (options.provider
        ? new PoolKeeper(store, options.provider, {
            log: options.log,
            now: this.now,
            ...(options.instanceCheckMs ? { checkMs: options.instanceCheckMs } : {}),
          })
        : undefined);
  }

  /** Why a pending job is not placed yet, as the last placement pass saw it. */
  waitingReason(job: JobRecord): string | undefined {
    const known = this.waiting.get(jobKey(job.runId, job.id));
    if (known !== undefined) return known;
    const rest = this.waitingRest.get(job.runId);
    if (!rest || job.state !== 'pending') return undefined;
    // Jobs of one size wait for the same reason: planned once, on the room the last pass left.
    const size = `${job.cpusReq}/${job.gpusReq ?? 0}`;
    let reason = rest.bySize.get(size);
    if (reason === undefined) {
      const why = planAssignments([{ key: job.id, cpusReq: job.cpusReq, gpusReq: job.gpusReq ?? 0, pools: rest.pools }], rest.capacity, {
        policy: rest.policy,
      }).waiting[0]?.reason;
      reason = rest.noted(why ?? 'waiting for the next placement pass');
      rest.bySize.set(size, reason);
    }
    return reason;
  }

  async start(): Promise<void> {
    this.startedAt = this.now();
    await this.consumeReports();
    this.timer = setInterval(() => void this.tick(), this.options.tickMs);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /**
   * One pass of liveness and run completion, and a placement pass. Skipped if the previous tick is still going.
   * Placement also runs on its own whenever a job becomes pending or cpus are freed (requestPlacement).
   */
  async tick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    try {
      // What other writers stored (a second coordinator, a test) is in the view from here on.
      await this.store.sync();
      const allRuns = await this.store.listRuns();
      const runs = allRuns.filter((run) => run.state === 'running');
      const agents = await this.readAgents();
      await this.requeueLost(agents);
      await this.requestPlacement();
      await this.stopStrayAttempts(agents);
      for (const run of runs) await this.settleDependencies(run.id);
      for (const run of runs) await this.closeIfFinished(run);
      this.pools?.manageAside(
        allRuns,
        agents.map((agent) => agent.pool),
      );
      await this.forgetGoneAgents(agents);
    } catch (error) {
      this.options.log(`tick failed: ${String(error)}`, { level: 'error' });
    } finally {
      this.ticking = false;
    }
  }

  /**
   * Places pending jobs on the next turn of the event loop: requests made before then join that pass, so a burst
   * of reports costs one pass. A pass plans at once and does not wait for the commits of the passes before it
   * (their jobs and cpus are held aside until those settle), so placement keeps pace with cpus freeing while
   * round trips are slow. Resolves once the pass's own commits have settled.
   */
  requestPlacement(): Promise<void> {
    this.nextPass ??= new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => {
        this.nextPass = undefined;
        return this.place();
      })
      .catch((error: unknown) => this.options.log(`placement failed: ${String(error)}`, { level: 'error' }));
    return this.nextPass;
  }

  /**
   * Jobs of agents whose heartbeat record expired go back to pending, once their agent is fenced: its instance and
   * job containers gone, so a stalled agent cannot finish an attempt that then runs again elsewhere. An agent that
   * cannot be fenced yet keeps its jobs until a later tick manages it.
   */
  private async requeueLost(agents: AgentRecord[]): Promise<void> {
    // After NATS was away (or this coordinator was), heartbeat entries may have expired while every agent was
    // fine: the agents get a full grace period to heartbeat again before any of them is taken for lost.
    if (this.now() - (this.options.link?.connectedSince ?? this.startedAt) < this.options.lostGraceMs) return;
    const live = new Set(agents.map((agent) => agent.agentId));
    const lostByAgent = new Map<string, JobRecord[]>();
    for (const { value: job } of this.store.activeJobs()) {
      if (!job.agentId || live.has(job.agentId) || this.now() - (job.assignedAt ?? 0) < this.options.lostGraceMs) continue;
      lostByAgent.set(job.agentId, [...(lostByAgent.get(job.agentId) ?? []), job]);
    }
    await inParallel([...lostByAgent], WRITES_IN_FLIGHT, async ([agentId, jobs]) => {
      const run = await this.store.getRun(jobs[0]!.runId);
      try {
        if (run) await this.pools?.fence(agentId, run);
      } catch (error) {
        this.options.log(
          `agent ${agentId} is gone but cannot be fenced yet (${error instanceof KatapultError ? error.toLine() : String(error)}); its ${plural(jobs.length, 'job')} wait`,
          { agentId, level: 'warn' },
        );
        return;
      }
      for (const job of jobs) {
        this.options.log(`agent ${agentId} is gone; ${job.runId}/${job.id} attempt ${job.attempt} is lost`, {
          runId: job.runId,
          jobId: job.id,
          attempt: job.attempt,
          agentId,
          level: 'warn',
        });
        await this.applyEvent(job.runId, job.id, { type: 'agent_lost', attempt: job.attempt });
      }
    });
  }

  /**
   * A placement pass: a snapshot of the view (the running runs' pending jobs, the cpus the active jobs hold on
   * each fresh agent), planned by core's planAssignments run by run, oldest first, then committed and published
   * with many writes in flight.
   */
  private async place(): Promise<void> {
    const runs = (await this.store.listRuns()).filter((run) => run.state === 'running');
    // Passes come in bursts between ticks: the agents' records are read again when the last read is not recent.
    const agents = this.now() - this.agentsReadAt > AGENTS_FRESH_FOR_MS ? await this.readAgents() : this.agents;
    // From here to the commits' start nothing waits: passes side by side never plan the same job or cpus.
    const fresh = agents.filter(
      (agent) =>
        this.now() - agent.heardAt <= (this.options.freshAgentMs ?? Number.POSITIVE_INFINITY) &&
        !this.isLeaving(agent) &&
        (this.pools?.accepts(agent) ?? true),
    );
    let capacity = agentCapacity(
      fresh,
      this.store.activeJobs().map((entry) => entry.value),
      this.committing.values(),
    );
    const waiting = new Map<string, string>();
    const rest = new Map<string, WaitingRest>();
    const assignments: { entry: Versioned<JobRecord>; agent: AgentCapacity; run: RunRecord }[] = [];
    for (const run of runs) {
      if (this.store.pendingSizeCount(run.id) === 0) continue;
      const pools = poolIdsOf(run);
      const byId = new Map<string, Versioned<JobRecord>>();
      const plan = planWindowed(this.plannable(run.id, pools, byId), capacity, {
        policy: run.jobAssign,
        uniformSizes: this.store.pendingSizeCount(run.id) <= 1,
      });
      const notes = pools.map((pool) => this.pools?.launchNote(pool)).filter((note): note is string => Boolean(note));
      const noted = (reason: string) => (notes.length > 0 ? `${reason}; ${notes.join('; ')}` : reason);
      for (const { jobKey: jobId, reason } of plan.waiting) waiting.set(jobKey(run.id, jobId), noted(reason));
      rest.set(run.id, { capacity: plan.capacity, policy: run.jobAssign, pools, noted, bySize: new Map() });
      const capacityOf = new Map(plan.capacity.map((slot) => [slot.id, slot]));
      for (const placement of plan.placements) {
        const entry = byId.get(placement.jobKey)!;
        const agent = capacityOf.get(placement.agentId)!;
        // Held until the commit settles, won or lost: a job that changed meanwhile frees them for a later pass.
        this.committing.set(jobKey(run.id, entry.value.id), {
          agentId: agent.id,
          cpus: entry.value.cpusReq,
          gpus: entry.value.gpusReq ?? 0,
        });
        assignments.push({ entry, agent, run });
      }
      capacity = plan.capacity;
    }
    this.waiting = waiting;
    this.waitingRest = rest;
    await inParallel(assignments, WRITES_IN_FLIGHT, async ({ entry, agent, run }) => {
      try {
        return await this.assign(entry, agent, run);
      } finally {
        this.committing.delete(jobKey(run.id, entry.value.id));
      }
    });
  }

  /** A run's pending jobs not being committed already, as the planner reads them, each kept in `read` by id. */
  private *plannable(runId: string, pools: string[], read: Map<string, Versioned<JobRecord>>): Generator<PendingJob> {
    for (const entry of this.store.pendingInOrder(runId)) {
      if (this.committing.has(jobKey(runId, entry.value.id))) continue;
      read.set(entry.value.id, entry);
      yield { key: entry.value.id, cpusReq: entry.value.cpusReq, gpusReq: entry.value.gpusReq ?? 0, pools };
    }
  }

  private async readAgents(): Promise<HeardAgent[]> {
    const agents = await this.store.listAgents();
    this.agents = agents;
    this.agentsReadAt = this.now();
    const listed = new Set(agents.map((agent) => agent.agentId));
    for (const agentId of this.leaving.keys()) if (!listed.has(agentId)) this.leaving.delete(agentId);
    for (const agent of agents) if (!this.isLeaving(agent)) this.leaving.delete(agent.agentId);
    return agents;
  }

  private isLeaving(agent: HeardAgent): boolean {
    const reportedAt = this.leaving.get(agent.agentId);
    return reportedAt !== undefined && agent.at <= reportedAt;
  }

  /** Commit first, then publish: a job is never sent to an agent unless the store says it is assigned there. */
  private async assign(entry: Versioned<JobRecord>, agent: AgentCapacity, run: RunRecord): Promise<boolean> {
    const agentId = agent.id;
    const result = applyJobEvent(entry.value, { type: 'assign', agentId, ...(agent.pool ? { pool: agent.pool } : {}) }, this.now());
    if (!result.changed || !(await this.store.updateJob(result.job, entry.revision))) return false;
    const job = result.job;
    const secrets = this.sealForAgent(run, job, agentId);
    if (secrets !== undefined && !secrets.ok) {
      await this.applyEvent(job.runId, job.id, { type: 'start_failed', attempt: job.attempt, message: secrets.problem });
      return false;
    }
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
      ...(job.inputArchives?.length ? { inputArchives: job.inputArchives } : {}),
      outputFiles: job.outputFiles,
      env: job.env ?? {},
      jobIndex: job.copyIndex ?? 0,
      jobCount: job.copyCount ?? 1,
      ...(job.timeoutSeconds ? { timeoutSeconds: job.timeoutSeconds } : {}),
      ...(secrets ? { secrets: secrets.sealed } : {}),
    });
    await jetstream(this.nc).publish(this.names.assignmentSubject(agentId), message, {
      msgID: `${job.runId}.${job.id}.${job.attempt}`,
    });
    this.options.log(`assigned ${job.runId}/${job.id} attempt ${job.attempt} to ${agentId}`, {
      runId: job.runId,
      jobId: job.id,
      attempt: job.attempt,
      agentId,
    });
    return true;
  }

  /**
   * The job's secret values, opened from the run's record and sealed again for this agent and attempt alone, or
   * why they cannot be (a problem that names no value); undefined for a job without secrets.
   */
  private sealForAgent(
    run: RunRecord,
    job: JobRecord,
    agentId: string,
  ): { ok: true; sealed: string } | { ok: false; problem: string } | undefined {
    const names = job.secrets ?? [];
    if (names.length === 0) return undefined;
    const values =
      run.secrets && this.options.secretsKey ? openSecrets(run.secrets, this.options.secretsKey, runContext(run.id)) : undefined;
    if (!values)
      return {
        ok: false,
        problem: `KP_SECRETS_UNREADABLE the run's secrets cannot be opened by this coordinator (another API token?); launch the run again`,
      };
    const agentSecret = this.options.agentSecret?.(agentId);
    if (!agentSecret)
      return { ok: false, problem: `KP_SECRETS_NO_AGENT_KEY agent ${agentId} has no NATS user of its own to seal the job's secrets for` };
    const own = Object.fromEntries(names.filter((name) => Object.hasOwn(values, name)).map((name) => [name, values[name]!]));
    return { ok: true, sealed: sealSecrets(own, secretsKey(agentSecret, 'agent'), attemptContext(job.runId, job.id, job.attempt)) };
  }

  /**
   * Asks agents to stop attempts that should not run (cancelled, or superseded after their agent was taken for
   * lost). Stop requests go over core NATS, so a lost one is simply sent again on a later tick.
   */
  private async stopStrayAttempts(agents: AgentRecord[]): Promise<void> {
    const jobs = new Map<string, JobRecord>();
    for (const agent of agents) {
      for (const { runId, jobId } of agent.running) {
        const entry = await this.store.getJob(runId, jobId);
        if (entry) jobs.set(jobKey(runId, jobId), entry.value);
      }
    }
    const jobOf = (runId: string, jobId: string) => jobs.get(jobKey(runId, jobId));
    const now = this.now();
    for (const [key, sentAt] of this.stopsSent) if (now - sentAt > 20 * STOP_RESEND_MS) this.stopsSent.delete(key);
    for (const stop of attemptsToStop(agents, jobOf)) {
      const key = `${stop.agentId}.${stop.runId}.${stop.jobId}.${stop.attempt}`;
      if (now - (this.stopsSent.get(key) ?? 0) < STOP_RESEND_MS) continue;
      this.stopsSent.set(key, now);
      this.nc.publish(
        this.names.stopSubject(stop.agentId),
        stopRequestCodec.encode({ v: 1, runId: stop.runId, jobId: stop.jobId, attempt: stop.attempt }),
      );
      this.options.log(`asked ${stop.agentId} to stop ${stop.runId}/${stop.jobId} attempt ${stop.attempt}`, {
        runId: stop.runId,
        jobId: stop.jobId,
        attempt: stop.attempt,
        agentId: stop.agentId,
      });
    }
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
      if (consumer.config.filter_subject)
        await jsm.streams.purge(this.names.streams.assignments, { filter: consumer.config.filter_subject });
      await jsm.consumers.delete(this.names.streams.assignments, name);
      this.options.log(`forgot gone agent's consumer ${name} and its unclaimed assignments`);
    }
    for (const name of this.goneSince.keys()) if (!seen.has(name)) this.goneSince.delete(name);
  }

  /**
   * Blocked jobs whose every dependency is done become pending, given those jobs' output archives to stage;
   * those with a dependency that failed, was aborted or skipped are skipped (and theirs in turn, as they end).
   */
  private async settleDependencies(runId: string): Promise<void> {
    // Every job's end comes here: a run with nothing blocked must not cost a pass over its jobs.
    if (this.store.blocked(runId) === 0) return;
    const jobs = (await this.store.listJobs(runId)).map((entry) => entry.value);
    const byId = new Map(jobs.map((job) => [job.id, job]));
    const { release, skip } = dependencyDecisions(jobs);
    for (const { id, message } of skip) await this.applyEvent(runId, id, { type: 'skip', message });
    for (const id of release) {
      const inputArchives = (byId.get(id)!.inputsFrom ?? []).flatMap(({ job, dir }) => {
        const object = byId.get(job)?.outputs?.object;
        return object ? [{ object, dir }] : [];
      });
      await this.applyEvent(runId, id, { type: 'release', inputArchives });
    }
  }

  /** A run is over once none of its jobs is unfinished (the view counts them as they change). */
  private async closeIfFinished(run: RunRecord): Promise<void> {
    if (this.store.unfinished(run.id) > 0) return;
    const jobs = (await this.store.listJobs(run.id)).map((entry) => entry.value);
    if (jobs.length === 0) return;
    const state = runStateOf(jobs);
    if (state === 'running') return;
    await this.store.putRun({ ...run, state, finishedAt: Math.max(...jobs.map((job) => job.finishedAt ?? 0)) });
    this.options.log(`run ${run.id} finished: ${state}`, { runId: run.id });
  }

  private async consumeReports(): Promise<void> {
    const jsm = await jetstreamManager(this.nc);
    await jsm.consumers.add(this.names.streams.events, {
      durable_name: this.names.eventsConsumer,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
    });
    const consumer = await jetstream(this.nc).consumers.get(this.names.streams.events, this.names.eventsConsumer);
    const messages = await consumer.consume({ max_messages: REPORTS_IN_FLIGHT * 2 });
    // Reports about one job are applied in order, those that came together in one write; reports about different
    // jobs side by side.
    const queue = new KeyedBatcher<{ message: JsMsg; event: JobEvent; report: JobReport }>(REPORTS_IN_FLIGHT, async (_key, reports) => {
      const { runId, jobId } = reports[0]!.report;
      try {
        const outcomes = await applyStoredJobEvents(
          this.store,
          runId,
          jobId,
          reports.map((entry) => entry.event),
          this.now(),
        );
        for (const outcome of outcomes) this.afterEvent(runId, jobId, outcome);
        for (const { message } of reports) message.ack();
      } catch (error) {
        this.options.log(`${plural(reports.length, 'report')} not applied yet (${String(error)}); redelivered later`, {
          runId,
          jobId,
          level: 'warn',
        });
        for (const { message } of reports) message.nak(1000);
      }
    });
    void (async () => {
      for await (const message of messages) {
        const decoded = jobReportCodec.decode(message.data);
        if (!decoded.ok) {
          this.options.log(`dropping a malformed report on ${message.subject}: ${decoded.error}`, { level: 'warn' });
          message.term();
          continue;
        }
        const report = decoded.value;
        // The sender is the agent the subject names (NATS permissions bind it to its user); reports stored under the
        // old subjects, without one, are taken at their word, as they were.
        const sender = this.names.eventSender(message.subject) ?? report.agentId;
        if (sender !== report.agentId) {
          this.options.log(`dropping a report on ${message.subject}: it names agent ${report.agentId} but agent ${sender} sent it`, {
            ...reportFields(report),
            agentId: sender,
            level: 'warn',
          });
          message.term();
          continue;
        }
        const foreign = foreignOutputs(this.names, report, sender);
        if (foreign) {
          this.options.log(`dropping a report on ${message.subject}: ${foreign}`, { ...reportFields(report), level: 'warn' });
          message.term();
          continue;
        }
        if (report.type === 'lost') this.leaving.set(report.agentId, Math.max(report.at, this.leaving.get(report.agentId) ?? 0));
        await queue.push(jobKey(report.runId, report.jobId), { message, event: toJobEvent(report, sender), report });
      }
    })();
  }

  private async applyEvent(runId: string, jobId: string, event: JobEvent): Promise<void> {
    this.afterEvent(runId, jobId, await applyStoredJobEvent(this.store, runId, jobId, event, this.now()));
  }

  /** Logs what an event did to a job, and starts what its new state calls for. */
  private afterEvent(runId: string, jobId: string, outcome: ApplyOutcome): void {
    if (outcome.applied) {
      const { attempt, agentId } = outcome.after;
      this.options.log(`${runId}/${jobId} attempt ${attempt}: ${outcome.before.state} -> ${outcome.after.state}`, {
        runId,
        jobId,
        attempt,
        ...(agentId ? { agentId } : {}),
      });
      // cpus freed, or a job back in the queue: place at once rather than at the next tick.
      if (!ACTIVE_STATES.has(outcome.after.state)) void this.requestPlacement();
      // Its dependents may start (or be skipped) now rather than at the next tick.
      if (outcome.after.state !== outcome.before.state && isFinal(outcome.after.state))
        void this.settleDependencies(runId).catch((error: unknown) =>
          this.options.log(`dependencies of ${runId} not settled yet: ${String(error)}`, { runId, level: 'warn' }),
        );
    } else if (outcome.why.startsWith('no job'))
      this.options.log(`report for unknown job ${runId}/${jobId} dropped`, { runId, jobId, level: 'warn' });
    else if (outcome.why.startsWith('report from agent'))
      this.options.log(`${runId}/${jobId}: ${outcome.why}; dropped`, { runId, jobId, level: 'warn' });
  }
}

/** A report as the event it is, from the agent `by` that sent it. */
function toJobEvent(report: JobReport, by: string): JobEvent {
  switch (report.type) {
    case 'pulling':
    case 'running':
      return { type: report.type, attempt: report.attempt, by };
    case 'exited':
      return {
        type: 'exited',
        attempt: report.attempt,
        exitCode: report.exitCode ?? -1,
        ...(report.outputs ? { outputs: report.outputs } : {}),
        ...(report.ranMs === undefined ? {} : { ranMs: report.ranMs }),
        ...(report.timedOut ? { timedOut: true } : {}),
        by,
      };
    case 'start_failed':
      return { type: 'start_failed', attempt: report.attempt, message: report.message ?? 'the job could not start', by };
    case 'lost':
      return { type: 'agent_lost', attempt: report.attempt, by };
  }
}

/** Cpus and GPUs a planned assignment holds on its agent until its commit settles. */
interface Held {
  agentId: string;
  cpus: number;
  gpus: number;
}

/** What a placement pass leaves to find the reason of a pending job it did not read. */
interface WaitingRest {
  capacity: AgentCapacity[];
  policy: RunRecord['jobAssign'];
  pools: string[];
  noted: (reason: string) => string;
  bySize: Map<string, string>;
}

/** Each agent's cpus and GPUs, with what the active jobs on it hold, and the assignments being committed. */
function agentCapacity(agents: readonly HeardAgent[], active: readonly JobRecord[], committing: Iterable<Held>): AgentCapacity[] {
  const used = new Map<string, { cpus: number; gpus: number }>();
  const hold = (agentId: string, cpus: number, gpus: number) => {
    const sum = used.get(agentId) ?? { cpus: 0, gpus: 0 };
    used.set(agentId, { cpus: sum.cpus + cpus, gpus: sum.gpus + gpus });
  };
  for (const job of active) if (job.agentId) hold(job.agentId, job.cpusReq, job.gpusReq ?? 0);
  for (const held of committing) hold(held.agentId, held.cpus, held.gpus);
  return agents.map((agent) => ({
    id: agent.agentId,
    ...(agent.pool ? { pool: agent.pool } : {}),
    cpus: agent.cpus,
    usedCpus: used.get(agent.agentId)?.cpus ?? 0,
    gpus: agent.gpus ?? 0,
    usedGpus: used.get(agent.agentId)?.gpus ?? 0,
  }));
}

/** The ids a report is about, as log fields. */
function reportFields(report: JobReport): LogFields {
  return { runId: report.runId, jobId: report.jobId, attempt: report.attempt, agentId: report.agentId };
}
