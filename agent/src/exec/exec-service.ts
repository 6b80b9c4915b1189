import { PassThrough } from 'node:stream';
import type Docker from 'dockerode';
import type { NatsConnection, Msg } from '@nats-io/transport-node';
import {
  EXEC_CHUNK_BYTES,
  EXEC_IDLE_MS,
  EXEC_PING_MS,
  execInputCodec,
  execOutputCodec,
  execRequestCodec,
  type Assignment,
  type ClusterNames,
  type ExecOutput,
  type ExecRequest,
} from '@katapult/core';
import { LABELS } from '../runner/labels.js';

export interface ExecServiceOptions {
  nc: NatsConnection;
  names: ClusterNames;
  docker: Docker;
  agentId: string;
  /** The attempts this agent runs now: only their containers may be entered. */
  running(): Assignment[];
  log(line: string): void;
  /** A session the client says nothing of (not even its keep-alive) for this long is ended (default EXEC_IDLE_MS). */
  idleMs?: number;
}

/** A login shell where there is one: bash if the image has it, sh otherwise. */
const SHELL = ['/bin/sh', '-c', 'if command -v bash >/dev/null 2>&1; then exec bash -l; else exec sh -l; fi'];

/**
 * Answers `katapult exec`: runs a command in the container of a job this agent is running, with its stdin,
 * stdout and stderr carried over NATS. Only the stack's admin may publish a request (NATS permissions), so
 * whoever asks holds the stack's keys; each session is logged with who asked and what.
 */
export function serveExec(options: ExecServiceOptions): { stop(): void } {
  const { nc, names, log } = options;
  const subscription = nc.subscribe(names.execStartSubject(options.agentId));
  void (async () => {
    for await (const message of subscription) {
      void startSession(options, message).catch((error: unknown) =>
        log(`exec failed: ${error instanceof Error ? error.message : String(error)}`),
      );
    }
  })();
  return { stop: () => subscription.unsubscribe() };
}

async function startSession(options: ExecServiceOptions, message: Msg): Promise<void> {
  const { nc, names, agentId, log } = options;
  const decoded = execRequestCodec.decode(message.data);
  if (!decoded.ok) return log(`exec: dropping ${decoded.error}`);
  const request = decoded.value;
  const outputSubject = names.execOutputSubject(agentId, request.session);
  const send = (output: ExecOutput) => nc.publish(outputSubject, execOutputCodec.encode(output));
  const refuse = (code: string, text: string) => {
    log(`exec refused: ${text}`);
    send({ v: 1, type: 'refused', code, message: text });
  };
  try {
    await runSession(options, request, send, refuse);
  } catch (error) {
    refuse('KP_EXEC_FAILED', `exec in ${request.runId}/${request.jobId}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

async function runSession(
  options: ExecServiceOptions,
  request: ExecRequest,
  send: (output: ExecOutput) => void,
  refuse: (code: string, text: string) => void,
): Promise<void> {
  const { nc, names, docker, agentId, log } = options;
  const where = `${request.runId}/${request.jobId} attempt ${request.attempt}`;
  const attempt = options
    .running()
    .find((job) => job.runId === request.runId && job.jobId === request.jobId && job.attempt === request.attempt);
  if (!attempt) return refuse('KP_JOB_NOT_RUNNING', `${where} is not running on agent ${agentId}`);
  const container = await findJobContainer(docker, agentId, request);
  if (!container) return refuse('KP_JOB_NOT_RUNNING', `${where} has no running container on agent ${agentId}`);

  const target = docker.getContainer(container);
  // Docker cannot kill an exec: its process writes its pid down first, so that a session the client leaves
  // (Ctrl-C, silence) can be ended with a signal instead of running on in the job's container.
  const pidFile = `/tmp/.katapult-exec-${request.session}`;
  const exec = await target.exec({
    Cmd: ['/bin/sh', '-c', `echo $$ > ${pidFile}; exec "$@"`, 'sh', ...(request.command.length > 0 ? request.command : SHELL)],
    AttachStdin: true,
    AttachStdout: true,
    AttachStderr: true,
    Tty: request.tty,
    ...(request.tty ? { Env: ['TERM=xterm-256color'] } : {}),
  });
  const stream = await exec.start({ hijack: true, stdin: true, Tty: request.tty });
  const what = request.command.length > 0 ? JSON.stringify(request.command) : 'a shell';
  log(`exec ${request.session} by ${request.by} in ${where}: ${what}${request.tty ? ' with a tty' : ''}`);

  const forward = (type: 'stdout' | 'stderr') => (chunk: Buffer) => {
    for (let offset = 0; offset < chunk.length; offset += EXEC_CHUNK_BYTES) {
      send({ v: 1, type, data: chunk.subarray(offset, offset + EXEC_CHUNK_BYTES).toString('base64') });
    }
  };
  if (request.tty) {
    stream.on('data', forward('stdout'));
    // Not awaited: Docker may answer a resize only once the session's first output is read.
    if (request.cols && request.rows) void exec.resize({ w: request.cols, h: request.rows }).catch(() => undefined);
  } else {
    const stdout = new PassThrough().on('data', forward('stdout'));
    const stderr = new PassThrough().on('data', forward('stderr'));
    docker.modem.demuxStream(stream, stdout, stderr);
  }

  let heardAt = Date.now();
  const idleMs = options.idleMs ?? EXEC_IDLE_MS;
  const input = nc.subscribe(names.execInputSubject(agentId, request.session));
  const alive = setInterval(() => send({ v: 1, type: 'ping' }), EXEC_PING_MS);
  let leftByClient = false;
  const leave = () => {
    leftByClient = true;
    stream.destroy();
  };
  const idle = setInterval(() => {
    if (Date.now() - heardAt < idleMs) return;
    log(`exec ${request.session}: nothing heard from the client for ${idleMs / 1000}s; ending it`);
    leave();
  }, idleMs / 6);
  void (async () => {
    for await (const inbound of input) {
      heardAt = Date.now();
      const decodedInput = execInputCodec.decode(inbound.data);
      if (!decodedInput.ok) {
        log(`exec ${request.session}: dropping ${decodedInput.error}`);
        continue;
      }
      const item = decodedInput.value;
      if (item.type === 'stdin') stream.write(Buffer.from(item.data, 'base64'));
      else if (item.type === 'eof') stream.end();
      else if (item.type === 'resize') void exec.resize({ w: item.cols, h: item.rows }).catch(() => undefined);
      else if (item.type === 'close') leave();
    }
  })();
  // The session's input is heard before the client is told to send it.
  await nc.flush();
  send({ v: 1, type: 'started' });

  await new Promise<void>((resolve) => {
    stream.once('end', resolve);
    stream.once('close', resolve);
    stream.once('error', () => resolve());
  });
  clearInterval(idle);
  clearInterval(alive);
  input.unsubscribe();
  const signal = leftByClient ? `kill -TERM "$(cat ${pidFile})" 2>/dev/null; ` : '';
  await runInContainer(target, ['/bin/sh', '-c', `${signal}rm -f ${pidFile}`]).catch((error: unknown) =>
    log(`exec ${request.session}: could not clean up: ${String(error)}`),
  );
  const exitCode = await exitCodeOf(exec);
  send({ v: 1, type: 'exit', exitCode });
  log(`exec ${request.session} in ${where} ended${exitCode === null ? '' : ` with exit code ${exitCode}`}`);
}

/** Runs a short command in the container and waits for its end; its output is dropped. */
async function runInContainer(container: Docker.Container, command: string[]): Promise<void> {
  const exec = await container.exec({ Cmd: command, AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({});
  await new Promise<void>((resolve) => {
    stream.once('end', resolve);
    stream.once('close', resolve);
    stream.once('error', () => resolve());
    stream.resume();
  });
}

/** Docker may record the exit code a moment after the stream ends. */
async function exitCodeOf(exec: Docker.Exec): Promise<number | null> {
  for (let tries = 0; tries < 50; tries += 1) {
    const state = await exec.inspect().catch(() => undefined);
    if (!state) return null;
    if (!state.Running && state.ExitCode !== null) return state.ExitCode;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return null;
}

async function findJobContainer(docker: Docker, agentId: string, request: ExecRequest): Promise<string | undefined> {
  const containers = await docker.listContainers({
    filters: {
      status: ['running'],
      label: [
        `${LABELS.role}=job`,
        `${LABELS.agent}=${agentId}`,
        `${LABELS.run}=${request.runId}`,
        `${LABELS.job}=${request.jobId}`,
        `${LABELS.attempt}=${request.attempt}`,
      ],
    },
  });
  return containers[0]?.Id;
}
