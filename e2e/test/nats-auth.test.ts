import { readFileSync, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connect, nanos, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AckPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { clusterNames, jobKey, type JobRecord, type RunView } from '@katapult/core';
import { logRecords, requireDocker, tempDir, waitFor } from '@katapult/testkit';
import { katapult } from './cli.js';

interface Credentials {
  user: string;
  pass: string;
}

/** The stack's NATS takes no anonymous connection, and the agents' user cannot hand out work or rewrite jobs. */
describe('NATS credentials on the local stack', () => {
  let env: NodeJS.ProcessEnv;
  let home: string;
  let url: string;
  let admin: Credentials;
  let agents: Record<string, Credentials>;
  const names = clusterNames('local');
  let firstRun: string;

  /** Publishes and waits for the server's verdict: a permissions violation arrives as an async error. */
  async function publishVerdict(nc: NatsConnection, subject: string): Promise<string> {
    const errors: string[] = [];
    void (async () => {
      for await (const status of nc.status()) if (status.type === 'error') errors.push(String(status.error));
    })();
    nc.publish(subject, 'x');
    await nc.flush();
    await new Promise((resolve) => setTimeout(resolve, 300));
    return errors.join('; ') || 'accepted';
  }

  beforeAll(async () => {
    await requireDocker();
    home = await tempDir('e2e-nats-auth');
    env = { KATAPULT_HOME: home };
    const project = await tempDir('e2e-nats-auth-project');
    // Files and another job's outputs too: the agent reads them through read grants, with its own credentials.
    await writeFile(join(project, 'data.txt'), 'uploaded bytes\n');
    await writeFile(
      join(project, 'k.yaml'),
      [
        'jobs:',
        '  - run_command: echo authenticated',
        '  - name: writer',
        '    upload_files: [data.txt]',
        '    run_command: cp data.txt copy.txt',
        '    output_files: [copy.txt]',
        '  - name: reader',
        '    inputs_from: [writer]',
        '    run_command: cat copy.txt',
        '',
      ].join('\n'),
    );
    const launch = await katapult(['launch', join(project, 'k.yaml'), '--wait', '--json'], env);
    expect(launch.code).toBe(0);
    firstRun = (JSON.parse(launch.stdout) as RunView).id;
    url = `nats://127.0.0.1:${(JSON.parse(readFileSync(join(home, 'stack.json'), 'utf8')) as { nats: { port: number } }).nats.port}`;
    admin = (JSON.parse(readFileSync(join(home, 'nats-auth.json'), 'utf8')) as { admin: Credentials }).admin;
    agents = JSON.parse(readFileSync(join(home, 'nats-agents.json'), 'utf8')) as Record<string, Credentials>;
  }, 600_000);
  afterAll(async () => {
    if (env) await katapult(['down'], env);
  });

  it('keeps the credentials in files only this user can read, one NATS user per agent', () => {
    for (const file of ['nats-auth.json', 'nats-agents.json', 'nats.conf', 'nats-users.conf'])
      expect(statSync(join(home, file)).mode & 0o777).toBe(0o600);
    expect(Object.keys(agents)).toEqual([expect.stringMatching(/^local-[0-9a-f]{8}-0-[0-9a-f]{4}$/)]);
  });

  it('refuses a connection without credentials, or with wrong ones', async () => {
    await expect(connect({ servers: url, reconnect: false })).rejects.toThrow(/Authorization Violation/i);
    const [agent] = Object.values(agents);
    await expect(connect({ servers: url, reconnect: false, user: agent!.user, pass: 'guess' })).rejects.toThrow(/Authorization Violation/i);
  });

  it("an agent's user can report and heartbeat as itself, and nothing that belongs to others", async () => {
    const [[agentId, credentials]] = Object.entries(agents) as [[string, Credentials]];
    const nc = await connect({ servers: url, reconnect: false, ...credentials });
    try {
      expect(await publishVerdict(nc, names.logSubject('r-x', 'job', agentId))).toBe('accepted');
      expect(await publishVerdict(nc, `$KV.${names.buckets.agents}.${agentId}`)).toBe('accepted');
      expect(await publishVerdict(nc, names.eventSubject(agentId, 'r-x', 'job'))).toBe('accepted');
      const denied = /Permissions Violation for Publish/i;
      expect(await publishVerdict(nc, `$KV.${names.buckets.agents}.local-1-abcd`)).toMatch(denied);
      expect(await publishVerdict(nc, names.assignmentSubject('local-1-abcd'))).toMatch(denied);
      expect(await publishVerdict(nc, names.assignmentSubject(agentId))).toMatch(denied);
      expect(await publishVerdict(nc, names.stopSubject('local-1-abcd'))).toMatch(denied);
      expect(await publishVerdict(nc, names.logSubject('r-x', 'job', 'local-1-abcd'))).toMatch(denied);
      expect(await publishVerdict(nc, names.legacyLogSubject('r-x', 'job'))).toMatch(denied);
      // A report as another agent, which would be taken for that agent's outcome.
      expect(await publishVerdict(nc, names.eventSubject('local-1-abcd', 'r-x', 'job'))).toMatch(denied);
      expect(await publishVerdict(nc, `$KV.${names.buckets.jobs}.r-x.job`)).toMatch(denied);
      // `katapult exec` is the admin's: no agent may start one, in its own jobs or another's, nor forge another's output.
      expect(await publishVerdict(nc, names.execStartSubject(agentId))).toMatch(denied);
      expect(await publishVerdict(nc, names.execStartSubject('local-1-abcd'))).toMatch(denied);
      expect(await publishVerdict(nc, names.execOutputSubject('local-1-abcd', '0123456789abcdef'))).toMatch(denied);
      expect(await publishVerdict(nc, names.execOutputSubject(agentId, '0123456789abcdef'))).toBe('accepted');
      expect(
        await publishVerdict(nc, `$JS.API.CONSUMER.MSG.NEXT.${names.streams.assignments}.${names.agentConsumer('local-1-abcd')}`),
      ).toMatch(denied);
    } finally {
      await nc.close();
    }
  });

  it("an agent's user cannot write, replace or purge stored files, write another agent's outputs, or hear others' replies", async () => {
    const [[agentId, credentials]] = Object.entries(agents) as [[string, Credentials]];
    const nc = await connect({ servers: url, reconnect: false, inboxPrefix: names.agentInboxPrefix(agentId), ...credentials });
    try {
      const denied = /Permissions Violation for Publish/i;
      expect(await publishVerdict(nc, names.outputSubject(agentId, 'r-x', 'job', 1))).toBe('accepted');
      expect(await publishVerdict(nc, names.outputSubject('local-1-abcd', 'r-x', 'job', 1))).toMatch(denied);
      expect(await publishVerdict(nc, `$O.${names.fileStore}.M.${Buffer.from('outputs/r-x/job/1').toString('base64url')}`)).toMatch(denied);
      expect(await publishVerdict(nc, `$O.${names.fileStore}.C.planted`)).toMatch(denied);
      expect(await publishVerdict(nc, `$JS.API.STREAM.PURGE.OBJ_${names.fileStore}`)).toMatch(denied);
      expect(await publishVerdict(nc, `$JS.API.STREAM.PURGE.${names.streams.outputs}`)).toMatch(denied);
    } finally {
      await nc.close();
    }
    const listener = await connect({ servers: url, reconnect: false, ...credentials });
    try {
      const errors: string[] = [];
      void (async () => {
        for await (const status of listener.status()) if (status.type === 'error') errors.push(String(status.error));
      })();
      listener.subscribe('_INBOX.>');
      await listener.flush();
      await waitFor(() => errors.length > 0, { what: 'the server to refuse the subscription' });
      expect(errors.join('; ')).toMatch(/Permissions Violation for Subscription to "_INBOX\.>"/i);
    } finally {
      await listener.close().catch(() => undefined);
    }
  });

  it('the honest agent staged the uploaded file and the outputs of the job it takes inputs from', async () => {
    const logs = await katapult(['logs', 'reader', '--run', firstRun], env);
    expect(logs.code).toBe(0);
    expect(logs.stdout).toBe('uploaded bytes\n');
  });

  it("an agent's user cannot list the file store or the outputs, nor read an input of an attempt that is not assigned to it", async () => {
    const [[agentId, credentials]] = Object.entries(agents) as [[string, Credentials]];
    const files = `OBJ_${names.fileStore}`;
    const outputs = names.streams.outputs;
    const assign = names.streams.assignments;
    const consumer = names.agentConsumer(agentId);
    const denied = /Permissions Violation for Publish/i;
    const nc = await connect({ servers: url, reconnect: false, inboxPrefix: names.agentInboxPrefix(agentId), ...credentials });
    const admin$ = await connect({ servers: url, reconnect: false, ...admin });
    try {
      for (const subject of [
        `$JS.API.STREAM.INFO.${files}`,
        `$JS.API.STREAM.INFO.${outputs}`,
        `$JS.API.STREAM.NAMES`,
        `$JS.API.CONSUMER.LIST.${files}`,
        `$JS.API.CONSUMER.NAMES.${outputs}`,
        `$JS.API.DIRECT.GET.${files}`,
        `$JS.API.DIRECT.GET.${files}.$O.${names.fileStore}.C.x`,
        `$JS.API.STREAM.MSG.GET.${files}`,
        `$JS.API.STREAM.MSG.GET.${outputs}`,
        // A consumer of every chunk, or of every output: nats-server would take the wildcard filter if allowed.
        `$JS.API.CONSUMER.CREATE.${files}`,
        `$JS.API.CONSUMER.CREATE.${files}.mine.$O.${names.fileStore}.C.>`,
        `$JS.API.CONSUMER.CREATE.${files}.mine.$O.${names.fileStore}.C.*`,
        `$JS.API.CONSUMER.DURABLE.CREATE.${files}.mine`,
        `$JS.API.CONSUMER.CREATE.${outputs}.mine.${names.outputWildcard}`,
        // Its assignment consumer with another filter would read every agent's assignments.
        `$JS.API.CONSUMER.CREATE.${assign}.${consumer}`,
        `$JS.API.CONSUMER.CREATE.${assign}.${consumer}.${names.assignmentWildcard}`,
        `$JS.API.CONSUMER.CREATE.${assign}.${consumer}.>`,
        `$JS.API.CONSUMER.DURABLE.CREATE.${assign}.${consumer}`,
        // Reads asked as another agent.
        names.readGrantSubject('local-1-abcd'),
      ]) {
        expect(await publishVerdict(nc, subject), subject).toMatch(denied);
      }

      // The inputs of finished attempts, its own included: no read is granted for them.
      const jsm = await jetstreamManager(admin$);
      const record = async (jobId: string) =>
        (await jsm.streams.getMessage(`KV_${names.buckets.jobs}`, {
          last_by_subj: `$KV.${names.buckets.jobs}.${jobKey(firstRun, jobId)}`,
        }))!.json<JobRecord>();
      const writer = await record('writer');
      const reader = await record('reader');
      const ask = async (jobId: string, attempt: number, object: string) => {
        const request = { v: 1, runId: firstRun, jobId, attempt, object };
        return (await nc.request(names.readGrantSubject(agentId), JSON.stringify(request), { timeout: 10_000 })).json<{
          ok: boolean;
          message?: string;
        }>();
      };
      expect(await ask('writer', writer.attempt, writer.files[0]!.object)).toEqual({
        v: 1,
        ok: false,
        message: `attempt ${writer.attempt} of ${firstRun}/writer is not assigned to ${agentId} now`,
      });
      expect(await ask('reader', reader.attempt, reader.inputArchives![0]!.object)).toMatchObject({
        ok: false,
        message: expect.stringMatching(/is not assigned to/),
      });

      // A consumer granted to someone: fetched from by its name only, a `*` as the name reaches none.
      const grant = await jsm.consumers.add(files, {
        name: 'grant_test',
        filter_subject: `$O.${names.fileStore}.C.>`,
        ack_policy: AckPolicy.None,
        inactive_threshold: nanos(60_000),
      });
      const inbox = `${names.agentInboxPrefix(agentId)}.pulled`;
      const pulled = nc.subscribe(inbox, { max: 1 });
      // Pulls are served in order: had the first reached the consumer, the second would get its second message.
      nc.publish(`$JS.API.CONSUMER.MSG.NEXT.${files}.*`, JSON.stringify({ batch: 1, no_wait: true }), { reply: `${inbox}.star` });
      nc.publish(`$JS.API.CONSUMER.MSG.NEXT.${files}.${grant.name}`, JSON.stringify({ batch: 1, no_wait: true }), { reply: inbox });
      for await (const message of pulled) {
        // $JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>.<time>.<pending>
        expect(message.reply?.split('.')[6]).toBe('1');
      }
      expect((await jsm.consumers.info(files, grant.name)).delivered.consumer_seq).toBe(1);
      await jsm.consumers.delete(files, grant.name);
    } finally {
      await nc.close();
      await admin$.close();
    }
  });

  it('an outcome reported by the agent running the job, with outputs it did not store under its own id, is refused', async () => {
    const project = await tempDir('e2e-nats-auth-forge');
    await writeFile(join(project, 'k.yaml'), 'jobs:\n  - name: slow\n    run_command: sleep 120\n');
    const runId = (JSON.parse((await katapult(['launch', join(project, 'k.yaml'), '--detach', '--json'], env)).stdout) as { runId: string })
      .runId;
    const job = async () => (JSON.parse((await katapult(['status', runId, '--json'], env)).stdout) as RunView[])[0]!.jobs[0]!;
    await waitFor(async () => (await job()).state === 'running', { what: 'the job running', timeoutMs: 120_000 });
    const { agentId, attempt } = await job();
    const credentials = (JSON.parse(readFileSync(join(home, 'nats-agents.json'), 'utf8')) as Record<string, Credentials>)[agentId!]!;
    const nc = await connect({ servers: url, reconnect: false, inboxPrefix: names.agentInboxPrefix(agentId!), ...credentials });
    try {
      const forged = {
        v: 1,
        runId,
        jobId: 'slow',
        attempt,
        agentId,
        type: 'exited',
        exitCode: 0,
        outputs: { object: 'outputs/r-other/job/1', missing: [] },
        at: Date.now(),
      };
      await jetstream(nc).publish(names.eventSubject(agentId!, runId, 'slow'), JSON.stringify(forged));
    } finally {
      await nc.close();
    }
    const file = join(home, 'logs', 'coordinator.log');
    const dropped = `its outputs are at outputs/r-other/job/1, not at the sender's ${names.outputSubject(agentId!, runId, 'slow', attempt)}`;
    const record = await waitFor(() => logRecords({ file }).find((entry) => entry.msg.includes(dropped)), {
      what: 'the coordinator to drop the forged report',
    });
    expect(record).toMatchObject({ level: 'warn', runId, jobId: 'slow', attempt, agentId });
    expect((await job()).state).toBe('running');
    expect((await katapult(['cancel', runId], env)).code).toBe(0);
  }, 300_000);

  it("a log line an agent writes for an attempt that was not its own is not shown; the job's own lines are", async () => {
    const [first] = JSON.parse((await katapult(['status', '--all', '--json'], env)).stdout) as RunView[];
    const job = first!.jobs[0]!;
    const [[agentId, credentials]] = Object.entries(agents) as [[string, Credentials]];
    const nc = await connect({ servers: url, reconnect: false, inboxPrefix: names.agentInboxPrefix(agentId), ...credentials });
    try {
      const planted = { v: 1, attempt: job.attempt + 1, stream: 'stdout', line: 'planted by another agent', at: Date.now() };
      await jetstream(nc).publish(names.logSubject(first!.id, job.id, agentId), JSON.stringify(planted));
    } finally {
      await nc.close();
    }
    const logs = await katapult(['logs', job.id, '--run', first!.id], env);
    expect(logs.code).toBe(0);
    expect(logs.stdout).toBe('authenticated\n');
  });

  it('no secret shows in status --json or the logs', async () => {
    const status = await katapult(['status', '--all', '--json'], env);
    for (const secret of [admin.pass, ...Object.values(agents).map((agent) => agent.pass)]) {
      expect(status.stdout).not.toContain(secret);
      for (const log of ['coordinator.log', 'nats.log']) expect(readFileSync(join(home, 'logs', log), 'utf8')).not.toContain(secret);
    }
  });
});

/** KATAPULT_TLS=1: the stack makes its own CA and server certificate; NATS then speaks TLS only. */
describe('NATS with TLS (KATAPULT_TLS=1)', () => {
  let env: NodeJS.ProcessEnv;
  let home: string;

  beforeAll(async () => {
    await requireDocker();
    home = await tempDir('e2e-nats-tls');
    env = { KATAPULT_HOME: home, KATAPULT_TLS: '1' };
  });
  afterAll(async () => {
    if (env) await katapult(['down'], env);
  });

  it('runs jobs over TLS, and a client that does not trust the stack CA is refused', async () => {
    const project = await tempDir('e2e-nats-tls-project');
    await writeFile(join(project, 'k.yaml'), 'jobs:\n  - run_command: echo over tls\n');
    const launch = await katapult(['launch', join(project, 'k.yaml'), '--wait'], env);
    expect(launch.code).toBe(0);
    expect((await katapult(['logs', 'job-1'], env)).stdout).toBe('over tls\n');
    expect(statSync(join(home, 'tls', 'nats-key.pem')).mode & 0o777).toBe(0o600);

    const url = `nats://127.0.0.1:${(JSON.parse(readFileSync(join(home, 'stack.json'), 'utf8')) as { nats: { port: number } }).nats.port}`;
    const { admin } = JSON.parse(readFileSync(join(home, 'nats-auth.json'), 'utf8')) as { admin: Credentials };
    await expect(connect({ servers: url, reconnect: false, ...admin })).rejects.toThrow(/certificate/i);
    const trusted = await connect({
      servers: url,
      reconnect: false,
      ...admin,
      tls: { ca: readFileSync(join(home, 'tls', 'ca.pem'), 'utf8') },
    });
    await trusted.close();
  }, 600_000);
});
