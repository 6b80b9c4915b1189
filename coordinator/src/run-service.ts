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
  runContext,
  sealSecrets,
  dependencyIssues,
  type AgentView,
  type JobPage,
  type JobPageQuery,
  type CreateRunRequest,
  type CreateRunResponse,
  type CancelRunResponse,
  type JobRecord,
  type RunSummary,
  type RunView,
  type JobSpec,
  type StagedFile,
  type Provider,
  type RunPlacement,
} from '@katapult/core';
import type { RunRecord, Store } from './store/store.js';
import { PoolKeeper } from './pool-keeper.js';
import { jobViewsOf, runSummaryOf, runViewOf, stateCounts } from '@katapult/core';

export { runViewOf };
import { inParallel } from './pipeline.js';
import { applyStoredJobEvent } from './store/apply-event.js';

/** What the HTTP routes do: turn a submitted run into stored records, start instances, and read state back. */
export interface RunServiceOptions {
  now?: () => number;
  /** The coordinator's pool keeper, so that storing a run and auto_stop never interleave; by default one of its own. */
  pools?: PoolKeeper;
  /** Why a pending job waits, as the scheduler last said. */
  waiting?: (job: JobRecord) => string | undefined;
  /** Told when jobs became pending (a new run), so they are placed at once rather than at the next tick. */
  placeNow?: () => void;
  /** The key a run's secret values are sealed under in its record (secretsKey of the API token); none: runs with secrets are refused. */
  secretsKey?: Buffer;
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
    checkDependencies(spec.jobs);
    for (const job of spec.jobs) {
      if (job.network === 'host' && spec.allowHostNetwork !== true) {
        // The config's rule, kept here too: a script posting a run directly gets no way around it.
        throw new KatapultError(
          'KP_API_HOST_NETWORK',
          `job "${job.id}" network: "host" needs allowHostNetwork: true in the run's spec (allow_host_network in the config)`,
          {
            exitCode: ExitCode.badInput,
          },
        );
      }
      checkJobPaths(job);
      stagedFiles(job, request); // refuse a run that names a file it did not upload
    }
    const secretValues = neededSecrets(request);
    if (Object.keys(secretValues).length > 0 && !this.options.secretsKey) {
      throw new KatapultError(
        'KP_SECRETS_UNAVAILABLE',
        'this coordinator has no key to keep secrets with; it cannot take a run with secrets',
        { exitCode: ExitCode.infrastructure },
      );
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
      ...(spec.maxHourlyCost ? { maxHourlyCost: spec.maxHourlyCost } : {}),
      ...(spec.maxCost ? { maxCost: spec.maxCost } : {}),
      placement,
      ...(Object.keys(secretValues).length > 0 ? { secrets: sealSecrets(secretValues, this.options.secretsKey!, runContext(runId)) } : {}),
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
      env: job.env ?? {},
      copyIndex: job.copyIndex ?? 0,
      copyCount: job.copyCount ?? 1,
      timeoutSeconds: job.timeoutSeconds ?? null,
      secrets: job.secrets ?? [],
      retries: job.retries,
      retryOnExitCodes: job.retryOnExitCodes ?? null,
      history: [],
      maxAttempts: spec.maxAttempts,
      state: job.after?.length ? 'blocked' : 'pending',
      ...(job.after?.length ? { after: job.after, inputsFrom: job.inputsFrom ?? [] } : {}),
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
    const outcomes = await inParallel(targets, WRITES_IN_FLIGHT, (job) =>
      applyStoredJobEvent(this.store, runId, job.id, { type: 'cancel' }, this.now()),
    );
    outcomes.forEach((outcome, index) => (outcome.applied ? cancelled : alreadyOver).push(targets[index]!.id));
    return { runId, cancelled, alreadyOver };
  }

  async list(): Promise<RunView[]> {
    return Promise.all((await this.store.listRuns()).map((run) => this.view(run)));
  }

  /** Every run with its jobs counted by state, not listed: what a page polling every second can afford at sweep size. */
  async summaries(): Promise<RunSummary[]> {
    return Promise.all(
      (await this.store.listRuns()).map(async (run) =>
        runSummaryOf(
          run,
          (await this.store.listJobs(run.id)).map(({ value }) => value),
        ),
      ),
    );
  }

  async get(runId: string): Promise<RunView> {
    return this.view(await this.runRecord(runId));
  }

  private async runRecord(runId: string): Promise<RunRecord> {
    const run = await this.store.getRun(runId);
    if (!run) throw new KatapultError('KP_RUN_NOT_FOUND', `no run "${runId}"`, { exitCode: ExitCode.badInput });
    return run;
  }

  /** One page of a run's jobs, so a client of a 10,000-job sweep need not take them all at once. */
  async jobPage(runId: string, query: JobPageQuery): Promise<JobPage> {
    await this.runRecord(runId);
    const all = (await this.store.listJobs(runId)).map(({ value }) => value);
    const matching = query.state ? all.filter((job) => job.state === query.state) : all;
    const offset = Number(query.offset ?? 0);
    const limit = Math.min(10_000, Number(query.limit ?? 500));
    const jobs = jobViewsOf(matching.slice(offset, offset + limit), all, this.options.waiting);
    return { runId, total: matching.length, offset, jobs, counts: stateCounts(all) };
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
    const jobs = (await this.store.listJobs(run.id)).map(({ value }) => value);
    return runViewOf(run, jobs, this.options.waiting);
  }
}

/** The API takes any client's word: a job waiting for one that does not exist, or for itself through others, would never run. */
function checkDependencies(jobs: readonly JobSpec[]): void {
  const issues = dependencyIssues(
    jobs.map((job) => ({ name: job.id, after: [...(job.after ?? []), ...(job.inputsFrom ?? []).map((input) => input.job)] })),
  );
  const first = issues[0];
  if (first)
    throw new KatapultError('KP_API_BAD_DEPENDENCY', `job "${jobs[first.job]!.id}" after: ${first.message}`, {
      exitCode: ExitCode.badInput,
    });
}

/**
 * The values of the secrets the run's jobs name; a name with no value is refused, saying which (never a value).
 * Values given for names no job uses are not kept.
 */
function neededSecrets(request: CreateRunRequest): Record<string, string> {
  const names = [...new Set(request.spec.jobs.flatMap((job) => job.secrets ?? []))].sort();
  const given = request.secrets ?? {};
  const missing = names.filter((name) => !Object.hasOwn(given, name));
  if (missing.length > 0) {
    throw new KatapultError(
      'KP_SECRET_MISSING',
      `no value was given for the secret${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`,
      {
        exitCode: ExitCode.badInput,
        hint: 'set it in the environment of the launching shell, or in the file given with --secrets-file',
      },
    );
  }
  return Object.fromEntries(names.map((name) => [name, given[name]!]));
}

/** Everything that decides what a run does, in a stable order; the config file's name is not part of it. */
function fingerprintOf(request: CreateRunRequest): string {
  const stable = (value: unknown): unknown =>
    Array.isArray(value)
      ? value.map(stable)
      : value !== null && typeof value === 'object'
        ? Object.fromEntries(
            Object.entries(value)
              .sort(([a], [b]) => a.localeCompare(b))
              .map(([key, item]) => [key, stable(item)]),
          )
        : value;
  const { spec, images, files } = request;
  return createHash('sha256')
    .update(JSON.stringify(stable({ spec, images, files })))
    .digest('hex');
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
