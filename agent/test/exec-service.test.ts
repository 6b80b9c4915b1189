import Docker from 'dockerode';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBaseImage } from '@katapult/images';
import { requireDocker, startNats, waitFor, type NatsServer } from '@katapult/testkit';
import {
  clusterNames,
  execInputCodec,
  execOutputCodec,
  execRequestCodec,
  type Assignment,
  type ExecInput,
  type ExecOutput,
  type ExecRequest,
} from '@katapult/core';
import { LABELS, serveExec } from '../src/index.js';

/** The agent's side of `katapult exec`, on real NATS and Docker, spoken to as the CLI would. */
describe("the agent's exec service", () => {
  const docker = new Docker();
  const names = clusterNames('exec-test');
  const agentId = 'exec-1';
  const stackLabel = `kpexec${process.pid}`;
  const lines: string[] = [];
  const job = { runId: 'r-exec', jobId: 'sleeper', attempt: 1 };
  let nats: NatsServer;
  let nc: NatsConnection;
  let container: Docker.Container;
  let service: { stop(): void };

  beforeAll(async () => {
    await requireDocker();
    nats = await startNats();
    nc = await connect({ servers: nats.url });
    const base = await ensureBaseImage(docker);
    container = await docker.createContainer({
      Image: base.ref,
      Cmd: ['sleep', '600'],
      Labels: {
        [LABELS.stack]: stackLabel,
        [LABELS.role]: 'job',
        [LABELS.agent]: agentId,
        [LABELS.run]: job.runId,
        [LABELS.job]: job.jobId,
        [LABELS.attempt]: '1',
      },
    });
    await container.start();
    service = serveExec({ nc, names, docker, agentId, running: () => [job as Assignment], log: (line) => lines.push(line), idleMs: 1_500 });
  }, 300_000);
  afterAll(async () => {
    service?.stop();
    await container?.remove({ force: true }).catch(() => undefined);
    await nc?.close();
    await nats?.stop();
  });

  /** Starts a session and collects what comes back until its exit (or its refusal). */
  async function session(request: Partial<ExecRequest>, input: ExecInput[] = []): Promise<ExecOutput[]> {
    const id = Math.random().toString(16).slice(2, 10).padEnd(16, '0');
    const out = nc.subscribe(names.execOutputSubject(agentId, id));
    await nc.flush();
    nc.publish(
      names.execStartSubject(agentId),
      execRequestCodec.encode({ v: 1, session: id, ...job, command: [], tty: false, by: 'test@here', ...request }),
    );
    const received: ExecOutput[] = [];
    for await (const message of out) {
      const decoded = execOutputCodec.decode(message.data);
      if (!decoded.ok) throw new Error(decoded.error);
      received.push(decoded.value);
      if (decoded.value.type === 'started')
        for (const item of input) nc.publish(names.execInputSubject(agentId, id), execInputCodec.encode(item));
      if (decoded.value.type === 'exit' || decoded.value.type === 'refused') break;
    }
    out.unsubscribe();
    return received;
  }
  const text = (outputs: ExecOutput[], stream: 'stdout' | 'stderr') =>
    outputs.map((item) => (item.type === stream ? Buffer.from(item.data, 'base64').toString() : '')).join('');

  it('refuses an attempt it does not run, naming it', async () => {
    expect(await session({ attempt: 2 })).toEqual([
      { v: 1, type: 'refused', code: 'KP_JOB_NOT_RUNNING', message: 'r-exec/sleeper attempt 2 is not running on agent exec-1' },
    ]);
  });

  it('sends a large output whole, in chunks, then the exit code', async () => {
    const outputs = await session({ command: ['sh', '-c', 'yes a | head -c 100000; echo done >&2; exit 4'] });
    expect(outputs[0]).toEqual({ v: 1, type: 'started' });
    expect(text(outputs, 'stdout')).toBe('a\n'.repeat(50_000));
    expect(text(outputs, 'stderr')).toBe('done\n');
    expect(outputs.filter((item) => item.type === 'stdout').length).toBeGreaterThan(1);
    expect(outputs.at(-1)).toEqual({ v: 1, type: 'exit', exitCode: 4 });
  });

  it('passes stdin on until its end', async () => {
    const outputs = await session({ command: ['wc', '-c'] }, [
      { v: 1, type: 'stdin', data: Buffer.from('12345').toString('base64') },
      { v: 1, type: 'eof' },
    ]);
    expect(text(outputs, 'stdout').trim()).toBe('5');
    expect(outputs.at(-1)).toEqual({ v: 1, type: 'exit', exitCode: 0 });
  });

  it('ends the command of a session the client closes (Ctrl-C), with a signal', async () => {
    const sleeps = 'for f in /proc/[0-9]*/cmdline; do tr "\\000" " " < "$f" 2>/dev/null; echo; done | grep -c "^sleep 321 $"';
    const running = () => session({ command: ['sh', '-c', sleeps] }).then((outputs) => Number(text(outputs, 'stdout').trim()));
    const id = Math.random().toString(16).slice(2, 10).padEnd(16, '1');
    const out = nc.subscribe(names.execOutputSubject(agentId, id));
    await nc.flush();
    nc.publish(
      names.execStartSubject(agentId),
      execRequestCodec.encode({ v: 1, session: id, ...job, command: ['sleep', '321'], tty: false, by: 'test@here' }),
    );
    const received: ExecOutput[] = [];
    for await (const message of out) {
      const decoded = execOutputCodec.decode(message.data);
      if (!decoded.ok) continue;
      received.push(decoded.value);
      if (decoded.value.type === 'started') {
        // The wrapper's sh becomes the command a moment after the start.
        await waitFor(async () => (await running()) === 1, { what: 'sleep 321 running in the container' });
        nc.publish(names.execInputSubject(agentId, id), execInputCodec.encode({ v: 1, type: 'close' }));
      }
      if (decoded.value.type === 'exit') break;
    }
    out.unsubscribe();
    // sh's exit status for SIGTERM: 128 + 15.
    expect(received.at(-1)).toEqual({ v: 1, type: 'exit', exitCode: 143 });
    expect(await running()).toBe(0);
  });

  it('ends a session whose client went silent, and logs it', async () => {
    // `cat` waits on stdin for ever; no keep-alive comes, so the agent closes it.
    const outputs = await session({ command: ['cat'] });
    expect(outputs.at(-1)).toMatchObject({ v: 1, type: 'exit' });
    await waitFor(() => lines.some((line) => /^exec [0-9a-f]+: nothing heard from the client for 1\.5s; ending it$/.test(line)), {
      what: 'the idle line',
    });
    expect(lines.filter((line) => line.startsWith('exec ') && line.includes(' by test@here in r-exec/sleeper attempt 1: '))).toHaveLength(
      3 + 3,
    );
  });
});
