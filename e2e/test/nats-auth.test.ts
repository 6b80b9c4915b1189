import { readFileSync, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterNames } from '@katapult/core';
import { requireDocker, tempDir } from '@katapult/testkit';
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
    await writeFile(join(project, 'k.yaml'), 'jobs:\n  - run_command: echo authenticated\n');
    expect((await katapult(['launch', join(project, 'k.yaml'), '--wait'], env)).code).toBe(0);
    url = `nats://127.0.0.1:${(JSON.parse(readFileSync(join(home, 'stack.json'), 'utf8')) as { nats: { port: number } }).nats.port}`;
    admin = (JSON.parse(readFileSync(join(home, 'nats-auth.json'), 'utf8')) as { admin: Credentials }).admin;
    agents = JSON.parse(readFileSync(join(home, 'nats-agents.json'), 'utf8')) as Record<string, Credentials>;
  }, 600_000);
  afterAll(async () => {
    if (env) await katapult(['down'], env);
  });

  it('keeps the credentials in files only this user can read, one NATS user per agent', () => {
    for (const file of ['nats-auth.json', 'nats-agents.json', 'nats.conf', 'nats-users.conf']) expect(statSync(join(home, file)).mode & 0o777).toBe(0o600);
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
      expect(await publishVerdict(nc, names.logSubject('r-x', 'job'))).toBe('accepted');
      expect(await publishVerdict(nc, `$KV.${names.buckets.agents}.${agentId}`)).toBe('accepted');
      expect(await publishVerdict(nc, names.eventSubject(agentId, 'r-x', 'job'))).toBe('accepted');
      const denied = /Permissions Violation for Publish/i;
      expect(await publishVerdict(nc, `$KV.${names.buckets.agents}.local-1-abcd`)).toMatch(denied);
      expect(await publishVerdict(nc, names.assignmentSubject('local-1-abcd'))).toMatch(denied);
      expect(await publishVerdict(nc, names.assignmentSubject(agentId))).toMatch(denied);
      expect(await publishVerdict(nc, names.stopSubject('local-1-abcd'))).toMatch(denied);
      // A report as another agent, which would be taken for that agent's outcome.
      expect(await publishVerdict(nc, names.eventSubject('local-1-abcd', 'r-x', 'job'))).toMatch(denied);
      expect(await publishVerdict(nc, `$KV.${names.buckets.jobs}.r-x.job`)).toMatch(denied);
      // `katapult exec` is the admin's: no agent may start one, in its own jobs or another's, nor forge another's output.
      expect(await publishVerdict(nc, names.execStartSubject(agentId))).toMatch(denied);
      expect(await publishVerdict(nc, names.execStartSubject('local-1-abcd'))).toMatch(denied);
      expect(await publishVerdict(nc, names.execOutputSubject('local-1-abcd', '0123456789abcdef'))).toMatch(denied);
      expect(await publishVerdict(nc, names.execOutputSubject(agentId, '0123456789abcdef'))).toBe('accepted');
      expect(await publishVerdict(nc, `$JS.API.CONSUMER.MSG.NEXT.${names.streams.assignments}.${names.agentConsumer('local-1-abcd')}`)).toMatch(denied);
    } finally {
      await nc.close();
    }
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
    const trusted = await connect({ servers: url, reconnect: false, ...admin, tls: { ca: readFileSync(join(home, 'tls', 'ca.pem'), 'utf8') } });
    await trusted.close();
  }, 600_000);
});
