import { randomBytes } from 'node:crypto';
import { hostname, userInfo } from 'node:os';
import type { NatsConnection } from '@nats-io/transport-node';
import {
  EXEC_CHUNK_BYTES,
  EXEC_IDLE_MS,
  EXEC_PING_MS,
  ExitCode,
  KatapultError,
  execInputCodec,
  execOutputCodec,
  execRequestCodec,
  wireError,
  type ClusterNames,
  type ExecInput,
  type ExecOutput,
} from '@katapult/core';

export interface ExecTarget {
  agentId: string;
  runId: string;
  jobId: string;
  attempt: number;
}

export interface ExecTerminal {
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** With a TTY: the window's size now, and a way to hear it change. */
  tty?: { cols: number; rows: number; onResize(listener: (cols: number, rows: number) => void): () => void };
  /** Aborted: the agent is asked to end the session (its exit code still comes back). */
  signal?: AbortSignal;
}

/** How long the agent has to answer a request: it looks the container up and starts the exec first. */
const START_TIMEOUT_MS = 30_000;

/**
 * Runs a command in a job's container through the agent that runs it, over NATS: the request on a subject only
 * the admin may publish to, stdin and output on the session's own subjects. Resolves with the command's exit
 * code (null when the agent could not read it).
 */
export async function runExecSession(
  nc: NatsConnection,
  names: ClusterNames,
  target: ExecTarget,
  command: string[],
  terminal: ExecTerminal,
): Promise<number | null> {
  const session = randomBytes(12).toString('hex');
  const output = nc.subscribe(names.execOutputSubject(target.agentId, session));
  const messages = output[Symbol.asyncIterator]();
  const next = async (): Promise<ExecOutput | undefined> => {
    for (;;) {
      const { value, done } = await messages.next();
      if (done) return undefined;
      const decoded = execOutputCodec.decode(value.data);
      if (decoded.ok) return decoded.value;
    }
  };
  await nc.flush();

  nc.publish(
    names.execStartSubject(target.agentId),
    execRequestCodec.encode({
      v: 1,
      session,
      runId: target.runId,
      jobId: target.jobId,
      attempt: target.attempt,
      command,
      tty: terminal.tty !== undefined,
      ...(terminal.tty ? { cols: terminal.tty.cols, rows: terminal.tty.rows } : {}),
      by: `${userInfo().username}@${hostname()}`,
    }),
  );
  let timer: NodeJS.Timeout | undefined;
  const silence = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), START_TIMEOUT_MS)));
  const first = await Promise.race([next(), silence]).finally(() => clearTimeout(timer));
  if (first === 'timeout' || first === undefined || first.type !== 'started') {
    output.unsubscribe();
    if (first !== 'timeout' && first?.type === 'refused') {
      throw wireError(first.code, first.message);
    }
    throw new KatapultError('KP_EXEC_NO_AGENT', `agent ${target.agentId} did not start the command within ${START_TIMEOUT_MS / 1000}s`, {
      hint: 'katapult status shows whether the job still runs and on which agent',
      exitCode: ExitCode.infrastructure,
    });
  }
  let heardAt = Date.now();
  const ended = (async () => {
    for (let item = await next(); item; item = await next()) {
      heardAt = Date.now();
      if (item.type === 'exit') return item.exitCode;
      if (item.type === 'refused') throw wireError(item.code, item.message, { exitCode: ExitCode.infrastructure });
      if (item.type === 'stdout' || item.type === 'stderr')
        (item.type === 'stdout' ? terminal.stdout : terminal.stderr).write(Buffer.from(item.data, 'base64'));
    }
    return null;
  })();
  // The agent's keep-alives stop when its instance goes away: no exit code will come then.
  let lostTimer: NodeJS.Timeout | undefined;
  const lost = new Promise<never>((_resolve, reject) => {
    lostTimer = setInterval(() => {
      if (Date.now() - heardAt < EXEC_IDLE_MS) return;
      reject(
        new KatapultError(
          'KP_EXEC_AGENT_LOST',
          `nothing heard from agent ${target.agentId} for ${EXEC_IDLE_MS / 1000}s; the session is lost`,
          {
            hint: 'katapult status shows whether the job still runs',
            exitCode: ExitCode.infrastructure,
          },
        ),
      );
    }, EXEC_PING_MS);
  });

  const inputSubject = names.execInputSubject(target.agentId, session);
  const send = (input: ExecInput) => nc.publish(inputSubject, execInputCodec.encode(input));
  const ping = setInterval(() => send({ v: 1, type: 'ping' }), EXEC_PING_MS);
  const stopResize = terminal.tty?.onResize((cols, rows) => send({ v: 1, type: 'resize', cols, rows }));
  const onData = (chunk: Buffer | string) => {
    const data = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    for (let offset = 0; offset < data.length; offset += EXEC_CHUNK_BYTES) {
      send({ v: 1, type: 'stdin', data: data.subarray(offset, offset + EXEC_CHUNK_BYTES).toString('base64') });
    }
  };
  const onEnd = () => send({ v: 1, type: 'eof' });
  const onAbort = () => send({ v: 1, type: 'close' });
  terminal.signal?.addEventListener('abort', onAbort, { once: true });
  terminal.stdin.on('data', onData);
  terminal.stdin.once('end', onEnd);
  try {
    return await Promise.race([ended, lost]);
  } finally {
    clearInterval(ping);
    clearInterval(lostTimer);
    terminal.signal?.removeEventListener('abort', onAbort);
    stopResize?.();
    terminal.stdin.off('data', onData);
    terminal.stdin.off('end', onEnd);
    output.unsubscribe();
  }
}
