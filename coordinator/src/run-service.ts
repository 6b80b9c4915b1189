import { createHash } from 'node:crypto';
import {
  ExitCode,
  KatapultError,
  newRunId,
  checkRelativePath,
  jobCommand,
  splitRunScript,
  jobInputPaths,
  normalizeRelative,
  type AgentView,
  type JobPage,
  type JobPageQuery,
  type CreateRunRequest,
  type CreateRunResponse,
  type CancelRunResponse,
  type JobRecord,
  type RunView,
  type JobSpec,
  type StagedFile,
} from '@katapult/core';
import type { Provider, RunPlacement } from './providers/provider.js';
import type { RunRecord, Store } from './store/store.js';
import { PoolKeeper, poolIdsOf } from './pool-keeper.js';
import { inParallel } from './pipeline.js';
import { applyStoredJobEvent } from './store/apply-event.js';

/** What the HTTP routes do: turn a submitted run into stored records, start instances, and read state back. */
export interface RunServiceOptions {
  now?: () => number;
  /** The coordinator's pool keeper, so that storing a run and auto_stop never interleave; by default one of its own. */
  pools?: PoolKeeper;
  /** Why a pending job waits, as the scheduler last said. */
  waiting?: (runId: string, jobId: string) => string | undefined;
  /** Told when jobs became pending (a new run), so they are placed at once rather than at the next tick. */
  placeNow?: () => void;
}

/** KV writes of one request in flight at once: a 10,000-job run is stored, or cancelled, in a few pipelined rounds. */
const WRITES_IN_FLIGHT = 128;

export class RunService {
  private readonly now: () => number;
  private readonly pools: PoolKeeper;

  constructor(
    private readonly store: Store,
    private readonly provider: Provider,
    private readonly options: RunServiceOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.pools = options.pools ?? new PoolKeeper(store, provider, { now: this.now });
  }

  async create(request: CreateRunRequest): Promise<CreateRunResponse> {
    const { spec } = request;
    const missing = spec.environments.find((env) => !request.images[env.name]);
    if (missing) {
      throw new KatapultError('KP_API_NO_IMAGE', `no image given for environment "${missing.name}"`, { exitCode: ExitCode.badInput });
    }
    for (const job of spec.jobs) {
      checkJobPaths(job);
      stagedFiles(job, request); // refuse a run that names a file it did not upload
    }
    const placement: RunPlacement = {
      provider: spec.provider,
      profile: spec.profile,
      agentImage: request.agentImage ?? null,
      maestroAddress: spec.maestroAddress,
    };
    this.provider.check?.(placement);
    const fingerprint = fingerprintOf(request);
    if (spec.recover) {
      const going = (await this.store.listRuns()).find((run) => run.state === 'running' && run.fingerprint === fingerprint);
      if (going) {
        await this.pools.ensure([going]);
        return { runId: going.id, jobs: spec.jobs.length, resumed: true };
      }
    }
    const createdAt = this.now();
    const runId = newRunId(new Date(createdAt));
    const run: RunRecord = {
      id: runId,
      project: spec.project,
      configFile: request.configFile,
      jobAssign: spec.jobAssign,
      state: 'running',
      fingerprint,
      instances: spec.instances,
      autoStopSeconds: spec.autoStopSeconds,
      placement,
      createdAt,
      finishedAt: null,
    };
    const records = spec.jobs.map((job, index): JobRecord => ({
      runId,
      id: job.id,
      index,
      envName: job.envName,
      image: request.images[job.envName]!,
      runCommand: jobCommand(job),
      files: stagedFiles(job, request),
      outputFiles: job.outputFiles.map(normalizeRelative),
      outputs: null,
      cpusReq: job.cpusReq,
      gpusReq: job.gpusReq,
      memoryBytes: job.memoryBytes,
      network: job.network,
      retries: job.retries,
      maxAttempts: spec.maxAttempts,
      state: 'pending',
      attempt: 1,
      agentId: null,
      exitCode: null,
      reason: null,
      message: null,
      createdAt,
      assignedAt: null,
      startedAt: null,
      finishedAt: null,
    }));
    await this.pools.submit(run, async () => {
      await inParallel(records, WRITES_IN_FLIGHT, (record) => this.store.createJob(record));
      // The run becomes visible (and schedulable) only once all of its jobs are stored.
      await this.store.putRun(run);
    });
    this.options.placeNow?.();
    return { runId, jobs: spec.jobs.length, resumed: false };
  }

  /**
   * Marks the run's unfinished jobs (or the named ones) aborted. Their containers are stopped by the
   * coordinator's tick, which asks each agent still running an aborted attempt to stop it.
   */
  async cancel(runId: string, jobIds: readonly string[] | undefined): Promise<CancelRunResponse> {
    const run = await this.get(runId);
    const unknown = (jobIds ?? []).filter((id) => !run.jobs.some((job) => job.id === id));
    if (unknown.length > 0) {
      throw new KatapultError('KP_JOB_NOT_FOUND', `run ${runId} has no job named ${unknown.map((id) => `"${id}"`).join(', ')}`, {
        exitCode: ExitCode.badInput,
      });
    }
    const targets = run.jobs.filter((job) => !jobIds || jobIds.includes(job.id));
    const cancelled: string[] = [];
    const alreadyOver: string[] = [];
    const outcomes = await inParallel(targets, WRITES_IN_FLIGHT, (job) => applyStoredJobEvent(this.store, runId, job.id, { type: 'cancel' }, this.now()));
    outcomes.forEach((outcome, index) => (outcome.applied ? cancelled : alreadyOver).push(targets[index]!.id));
    return { runId, cancelled, alreadyOver };
  }

  async list(): Promise<RunView[]> {
    return Promise.all((await this.store.listRuns()).map((run) => this.view(run)));
  }

  async get(runId: string): Promise<RunView> {
    const run = await this.store.getRun(runId);
    if (!run) throw new KatapultError('KP_RUN_NOT_FOUND', `no run "${runId}"`, { exitCode: ExitCode.badInput });
    return this.view(run);
  }

  /** One page of a run's jobs, so a client of a 10,000-job sweep need not take them all at once. */
  async jobPage(runId: string, query: JobPageQuery): Promise<JobPage> {
    const run = await this.get(runId);
    const counts: Record<string, number> = {};
    for (const job of run.jobs) counts[job.state] = (counts[job.state] ?? 0) + 1;
    const matching = query.state ? run.jobs.filter((job) => job.state === query.state) : run.jobs;
    const offset = Number(query.offset ?? 0);
    const limit = Math.min(10_000, Number(query.limit ?? 500));
    return { runId, total: matching.length, offset, jobs: matching.slice(offset, offset + limit), counts };
  }

  async agents(): Promise<AgentView[]> {
    const jobs = this.store.activeJobs().map((entry) => entry.value);
    return (await this.store.listAgents()).map((agent) => {
      const mine = jobs.filter((job) => job.agentId === agent.agentId);
      return {
        agentId: agent.agentId,
        instanceId: agent.instanceId,
        instanceType: agent.instanceType ?? null,
        pool: agent.pool ?? null,
        cpus: agent.cpus,
        usedCpus: mine.reduce((sum, job) => sum + job.cpusReq, 0),
        gpus: agent.gpus ?? 0,
        usedGpus: mine.reduce((sum, job) => sum + (job.gpusReq ?? 0), 0),
        heartbeatAgeMs: Math.max(0, this.now() - agent.at),
        // What the agent says it runs, which includes attempts it has been asked to stop.
        running: agent.running.map((job) => `${job.runId}/${job.jobId}`),
      };
    });
  }

  private async view(run: RunRecord): Promise<RunView> {
    const jobs = (await this.store.listJobs(run.id)).map(({ value: job }) => ({
      id: job.id,
      runId: job.runId,
      envName: job.envName,
      state: job.state,
      attempt: job.attempt,
      agentId: job.agentId,
      pool: job.pool ?? null,
      exitCode: job.exitCode,
      reason: job.reason,
      message: job.message,
      ...(job.state === 'pending' ? { waiting: this.options.waiting?.(job.runId, job.id) ?? null } : {}),
      outputFiles: job.outputFiles,
      outputs: job.outputs,
      createdAt: job.createdAt,
      assignedAt: job.assignedAt,
      pullingAt: job.pullingAt ?? null,
      startedAt: job.startedAt,
      finishedAt: job.finishedAt,
      cpus: job.cpusReq,
    }));
    return {
      id: run.id,
      project: run.project,
      configFile: run.configFile,
      state: run.state,
      createdAt: run.createdAt,
      finishedAt: run.finishedAt,
      pools: poolIdsOf(run),
      jobs,
    };
  }
}

/** Everything that decides what a run does, in a stable order; the config file's name is not part of it. */
function fingerprintOf(request: CreateRunRequest): string {
  const stable = (value: unknown): unknown =>
    Array.isArray(value)
      ? value.map(stable)
      : value !== null && typeof value === 'object'
        ? Object.fromEntries(Object.entries(value).sort(([a], [b]) => a.localeCompare(b)).map(([key, item]) => [key, stable(item)]))
        : value;
  const { spec, images, files } = request;
  return createHash('sha256').update(JSON.stringify(stable({ spec, images, files }))).digest('hex');
}

/**
 * The CLI checks a config's paths, but the API takes any client's word: a path that leaves the work folder, or
 * names the work folder itself, would make an assignment every agent refuses, and the job would never run.
 */
function checkJobPaths(job: JobSpec): void {
  const named: [string, string][] = [
    ...(job.runScript ? [['run_script', splitRunScript(job.runScript).script] as [string, string]] : []),
    ...job.uploadFiles.map((path): [string, string] => ['upload_files', path]),
    ...job.inputFiles.map((path): [string, string] => ['input_files', path]),
    ...job.outputFiles.map((path): [string, string] => ['output_files', path]),
  ];
  for (const [field, path] of named) {
    const problem = checkRelativePath(path) ?? (normalizeRelative(path) === '' ? `"${path}" names the work folder itself` : undefined);
    if (problem) throw new KatapultError('KP_API_BAD_PATH', `job "${job.id}" ${field}: ${problem}`, { exitCode: ExitCode.badInput });
  }
}

/** Where each file a job names comes from; uploads are shared by the run's jobs when `mutualize_uploads` is on. */
function stagedFiles(job: JobSpec, request: CreateRunRequest): StagedFile[] {
  return jobInputPaths(job).map(({ path, kind }) => {
    const stored = request.files[path];
    if (!stored) {
      throw new KatapultError('KP_API_FILE_NOT_UPLOADED', `job "${job.id}" names "${path}", which was not uploaded with the run`, {
        exitCode: ExitCode.badInput,
      });
    }
    return {
      path,
      object: stored.object,
      size: stored.size,
      executable: kind === 'script' || stored.executable,
      shared: kind !== 'input' && request.spec.mutualizeUploads,
    };
  });
}
