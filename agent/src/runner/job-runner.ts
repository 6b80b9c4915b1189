import { Readable } from 'node:stream';
import type Docker from 'dockerode';
import * as tar from 'tar-stream';
import {
  attemptContext,
  JOB_WORKDIR,
  jobContainerName,
  jobEnvironment,
  jobMemoryLimit,
  maskSecrets,
  openSecrets,
  type Assignment,
  type JobOutputs,
} from '@katapult/core';
import { LABELS } from './labels.js';
import { containerUser, explainStartFailure, jobHostConfig, jobUser } from './host-config.js';
import { pullImage, type PullImage } from './image-pull.js';
import type { JobFileStore } from '../files/file-store.js';
import { packInputArchives, packOutputs, packWorkFolder } from '../files/work-folder.js';
import { retryUntilDone } from '../retry.js';
import { forwardOutput, type LogOutput } from './job-output.js';

/** What a job attempt tells the world; the bus turns these into NATS messages. */
export interface JobSink extends LogOutput {
  report(type: 'pulling' | 'running', detail?: { message?: string }): Promise<void>;
  /** ranMs: how long the container ran, by Docker's clock (the agent's when Docker does not say). */
  exited(exitCode: number, outputs?: JobOutputs, ranMs?: number, timedOut?: boolean): Promise<void>;
  startFailed(message: string): Promise<void>;
  /** The attempt was given up with no outcome (see INTERRUPTED): it is to be run again elsewhere. */
  lost(): Promise<void>;
  /** A line of the agent's own in the job's log (it was not printed by the job). */
  logLine(stream: 'stdout' | 'stderr', line: string): void;
  /** Resolves once every log line so far is stored, then marks the end of this attempt's log. */
  endOfLog(exitCode: number | null): Promise<void>;
}

export const INTERRUPTED = 'instance-interrupted';

export interface RunnerOptions {
  agentId: string;
  stackLabel: string;
  files: JobFileStore;
  /** The agent's own log (retries, not the job's output). */
  log?: (line: string) => void;
  /** What this instance offers: a job that gave no memory limit of its own gets its cpus' share of it. */
  instance?: { cpus: number; memoryBytes: number | null };
  /**
   * Aborting kills the container. With the reason INTERRUPTED (the instance is going away) the attempt is
   * reported lost, to be requeued; with any other reason (the coordinator asked) its exit is reported as usual.
   */
  signal?: AbortSignal;
  /** How images are pulled (with which registry credentials); default: ECR's tokens, no credentials elsewhere. */
  pullImage?: PullImage;
  /** The cgroup job containers go under (the agent container's, so its pids limit caps all its jobs together). */
  cgroupParent?: string;
  /** The key this agent's attempts' secrets are sealed under (secretsKey of its NATS password); none: it can run no job with secrets. */
  secretsKey?: Buffer;
}

/**
 * Creates the attempt's container under its name. A container of this stack already bearing the name is one
 * an agent left behind when it died mid-attempt (the coordinator gives each new try a new attempt number): it
 * is removed, so the attempt is not refused. A name held by anything else is left alone and is an error.
 */
async function createJobContainer(
  docker: Docker,
  stackLabel: string,
  spec: Docker.ContainerCreateOptions & { name: string },
): Promise<Docker.Container> {
  try {
    return await docker.createContainer(spec);
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode !== 409) throw error;
    const existing = docker.getContainer(spec.name);
    const labels = (await existing.inspect()).Config.Labels ?? {};
    if (labels[LABELS.stack] !== stackLabel || labels[LABELS.role] !== 'job') throw error;
    await existing.remove({ force: true });
    return docker.createContainer(spec);
  }
}

/**
 * Runs one attempt of a job: pull its image, stage its files into a fresh container, run its command there,
 * stream its output (read no faster than it is stored), collect its output files, report the exit code,
 * remove the container. It decides nothing about retries: it only reports.
 */
export async function runJobAttempt(docker: Docker, assignment: Assignment, given: JobSink, options: RunnerOptions): Promise<void> {
  let container: Docker.Container | undefined;
  let sink = given;
  try {
    const secrets = assignment.secrets === undefined ? {} : openAttemptSecrets(assignment, options.secretsKey);
    sink = maskingSink(given, Object.values(secrets));
    await sink.report('pulling');
    const pull = options.pullImage ?? pullImage;
    const labels = await imageLabels(docker, assignment.image, pull);
    if (options.signal?.aborted) throw new Error('stopped before it started');
    const user = jobUser(assignment.image, labels);
    container = await createWithImage(
      docker,
      options.stackLabel,
      {
        name: jobContainerName(assignment.runId, assignment.jobId, assignment.attempt),
        Image: assignment.image,
        ...containerUser(user),
        Cmd: ['/bin/sh', '-c', assignment.runCommand],
        Env: jobEnvironment(assignment, secrets),
        WorkingDir: JOB_WORKDIR,
        Tty: false,
        Labels: {
          [LABELS.stack]: options.stackLabel,
          [LABELS.role]: 'job',
          [LABELS.run]: assignment.runId,
          [LABELS.job]: assignment.jobId,
          [LABELS.attempt]: String(assignment.attempt),
          [LABELS.agent]: options.agentId,
        },
        HostConfig: {
          ...jobHostConfig(
            assignment,
            jobMemoryLimit(assignment.memoryBytes, options.instance ?? { cpus: assignment.cpus, memoryBytes: null }, assignment.cpus),
          ),
          ...(options.cgroupParent ? { CgroupParent: options.cgroupParent } : {}),
        },
      },
      pull,
    );
    // With nothing staged, the image's own /work serves: images naming a job user make it theirs (recipes/user.ts).
    if (assignment.files.length > 0) {
      const staging = packWorkFolder(assignment.files, (object) => options.files.open(object, assignment), user);
      // Docker may answer (an error) before it has read the whole archive: the rest is not left hanging.
      await container.putArchive(staging, { path: '/' }).finally(() => staging.destroy());
    }
    if (assignment.inputArchives?.length) {
      const inputs = packInputArchives(
        assignment.inputArchives.map(({ object, dir }) => ({ dir, open: () => options.files.openArchive(object, assignment) })),
        user,
      );
      await container.putArchive(inputs, { path: '/' }).finally(() => inputs.destroy());
    }
    const output = await container.attach({ stream: true, stdout: true, stderr: true });
    const drained = forwardOutput(output, sink);
    await container.start();
    const startedAt = Date.now();
    const started = container;
    const kill = () => void started.kill().catch(() => undefined);
    if (options.signal?.aborted) kill();
    options.signal?.addEventListener('abort', kill, { once: true });
    let timedOut = false;
    const timeout =
      assignment.timeoutSeconds === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            sink.logLine('stderr', `katapult: killed after its timeout of ${assignment.timeoutSeconds} s`);
            kill();
          }, assignment.timeoutSeconds * 1000);
    await sink.report('running');
    const { StatusCode } = (await container.wait().finally(() => clearTimeout(timeout))) as { StatusCode: number };
    const ranByAgentClock = Date.now() - startedAt;
    const [ranMs] = await Promise.all([runTime(container, ranByAgentClock, options.log), drained]);
    // Outputs are stored like reports: until NATS takes them. Only a closing agent gives up (and says so).
    const collect = () => collectOutputs(started, assignment, options.files);
    const retry = {
      what: `storing the outputs of ${assignment.runId}/${assignment.jobId}`,
      log: options.log ?? (() => undefined),
      closed: options.files.closed,
    };
    const outputs = await retryUntilDone(collect, retry).catch((error: unknown) => {
      sink.logLine('stderr', `katapult: the output files could not be stored: ${error instanceof Error ? error.message : String(error)}`);
      return { object: null, missing: [...assignment.outputFiles] };
    });
    await sink.endOfLog(StatusCode);
    if (options.signal?.aborted && options.signal.reason === INTERRUPTED) await sink.lost();
    else await sink.exited(StatusCode, outputs, ranMs, timedOut);
  } catch (error) {
    const message = explainStartFailure(assignment, error instanceof Error ? error.message : String(error));
    await sink.endOfLog(null).catch(() => undefined);
    if (options.signal?.aborted && options.signal.reason === INTERRUPTED) await sink.lost();
    else await sink.startFailed(message);
  } finally {
    await container?.remove({ force: true }).catch(() => undefined);
  }
}

function openAttemptSecrets(assignment: Assignment, key: Buffer | undefined): Record<string, string> {
  const values = key
    ? openSecrets(assignment.secrets!, key, attemptContext(assignment.runId, assignment.jobId, assignment.attempt))
    : undefined;
  if (!values)
    throw new Error(
      `KP_SECRETS_UNREADABLE the job's secrets were not sealed for this agent (${key ? 'another key' : 'it has no NATS user of its own'})`,
    );
  return values;
}

/** The sink, with any secret value in the job's output masked before it is stored. */
function maskingSink(sink: JobSink, values: readonly string[]): JobSink {
  if (values.length === 0) return sink;
  return {
    report: (type, detail) => sink.report(type, detail),
    exited: (...args) => sink.exited(...args),
    startFailed: (message) => sink.startFailed(maskSecrets(message, values)),
    lost: () => sink.lost(),
    logLine: (stream, line) => sink.logLine(stream, maskSecrets(line, values)),
    endOfLog: (exitCode) => sink.endOfLog(exitCode),
    logPiece: (piece) => sink.logPiece({ ...piece, text: maskSecrets(piece.text, values) }),
    whenLogWritable: () => sink.whenLogWritable(),
  };
}

/**
 * The job image's labels, pulling it first unless this Docker has it. Environment images come pinned by digest
 * (`repo@sha256:…`): a local image with that digest is the one built, and a pull is checked against it by Docker,
 * so a tag overwritten in the registry since is never run. A pinned image's labels cannot change, so they are
 * asked of Docker once per agent, not per job (an image removed since fails the container's creation, which then
 * pulls it again: see createWithImage).
 */
async function imageLabels(docker: Docker, image: string, pullImage: PullImage): Promise<Record<string, string> | undefined> {
  const known = pinnedLabels(docker).get(image);
  if (known) return known.labels;
  try {
    return remember(docker, image, (await docker.getImage(image).inspect()).Config.Labels ?? undefined);
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode !== 404) throw error;
  }
  await pullImage(docker, image);
  return remember(docker, image, (await docker.getImage(image).inspect()).Config.Labels ?? undefined);
}

const labelsByDocker = new WeakMap<Docker, Map<string, { labels: Record<string, string> | undefined }>>();
function pinnedLabels(docker: Docker): Map<string, { labels: Record<string, string> | undefined }> {
  let known = labelsByDocker.get(docker);
  if (!known) labelsByDocker.set(docker, (known = new Map()));
  return known;
}
function remember(docker: Docker, image: string, labels: Record<string, string> | undefined): Record<string, string> | undefined {
  if (/@sha256:[0-9a-f]{64}$/.test(image)) pinnedLabels(docker).set(image, { labels });
  return labels;
}

/** Creates the container; if Docker no longer has the image (removed since its labels were read), pulls it and tries once more. */
async function createWithImage(
  docker: Docker,
  stackLabel: string,
  spec: Docker.ContainerCreateOptions & { name: string; Image: string },
  pull: PullImage,
): Promise<Docker.Container> {
  try {
    return await createJobContainer(docker, stackLabel, spec);
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode !== 404 || !pinnedLabels(docker).delete(spec.Image)) throw error;
    await imageLabels(docker, spec.Image, pull);
    return createJobContainer(docker, stackLabel, spec);
  }
}

/**
 * Stores the attempt's output files as one archive. A job that produced none of them reports no archive; the
 * empty one (1 KiB) stays, as the agent may remove nothing it stored.
 */
async function collectOutputs(container: Docker.Container, assignment: Assignment, files: JobFileStore): Promise<JobOutputs | undefined> {
  if (assignment.outputFiles.length === 0) return undefined;
  const name = files.outputName(assignment);
  const archive = tar.pack();
  const stored = files.putArchive(name, Readable.from(archive));
  const read = async (path: string) => {
    try {
      return (await container.getArchive({ path })) as Readable;
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode === 404) return null;
      throw error;
    }
  };
  let packed: { missing: string[]; files: number };
  try {
    packed = await packOutputs(read, assignment.outputFiles, archive);
    archive.finalize();
  } catch (error) {
    archive.destroy(error as Error);
    await stored.catch(() => undefined);
    throw error;
  }
  await stored;
  return { object: packed.files > 0 ? name : null, missing: packed.missing };
}

/**
 * How long the container ran, from Docker's own StartedAt and FinishedAt. When Docker does not say (its inspect
 * failed, on a loaded host), the agent's own clock from start to wait stands in: a little longer, never the
 * time the log took to ship.
 */
async function runTime(container: Docker.Container, ranByAgentClock: number, log?: (line: string) => void): Promise<number> {
  const inspected = await container.inspect().catch((error: unknown) => {
    const reason = error instanceof Error ? error.message : String(error);
    log?.(`Docker did not say how long ${container.id} ran (${reason}); the agent's clock stands in`);
    return { State: undefined };
  });
  const ran = Date.parse(inspected.State?.FinishedAt ?? '') - Date.parse(inspected.State?.StartedAt ?? '');
  return Number.isFinite(ran) && ran >= 0 ? ran : ranByAgentClock;
}
