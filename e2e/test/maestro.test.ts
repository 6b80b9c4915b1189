import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { connect as connectTcp } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { connect } from '@nats-io/transport-node';
import { Agent, fetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterNames, loadConfig, type CreateRunRequest } from '@katapult/core';
import { connectDocker, ensureBaseImage, ensureMaestroImage, ensureNodeImage } from '@katapult/images';
import { freePort, requireDocker, tempDir, waitFor } from '@katapult/testkit';
import { REPO_ROOT } from './cli.js';
import { startRefusingEc2, type RefusingEc2 } from './refusing-ec2.js';

const exec = promisify(execFile);
const TLS_NAME = 'maestro.katapult';
const CLUSTER = 'maestro-e2e';
const AGENT_IMAGE = `123456789012.dkr.ecr.eu-west-3.amazonaws.com/katapult/agent@sha256:${'0a1b2c'.repeat(10)}0a1b`;

/** A CA and a server certificate naming only TLS_NAME, as the maestro's boot script writes them (see launcher/src/state/nats-tls.ts). */
async function writeCertificates(dir: string): Promise<void> {
  const tls = join(dir, 'tls');
  await mkdir(tls, { recursive: true });
  const openssl = (args: string[]) => exec('openssl', args);
  await openssl([
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '2',
    '-subj',
    '/CN=katapult maestro test CA',
    '-keyout',
    join(tls, 'ca-key.pem'),
    '-out',
    join(tls, 'ca.pem'),
  ]);
  await openssl([
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-subj',
    `/CN=${TLS_NAME}`,
    '-keyout',
    join(tls, 'server-key.pem'),
    '-out',
    join(tls, 'server.csr'),
  ]);
  await writeFile(join(tls, 'server.ext'), `subjectAltName=DNS:${TLS_NAME}\n`);
  await openssl([
    'x509',
    '-req',
    '-in',
    join(tls, 'server.csr'),
    '-CA',
    join(tls, 'ca.pem'),
    '-CAkey',
    join(tls, 'ca-key.pem'),
    '-CAcreateserial',
    '-days',
    '2',
    '-extfile',
    join(tls, 'server.ext'),
    '-out',
    join(tls, 'server.pem'),
  ]);
  for (const file of ['ca.pem', 'server.pem', 'server-key.pem']) await chmod(join(tls, file), 0o600);
}

/** What a client sees before any TLS: nats-server's INFO line, then whether it answers a plaintext CONNECT and PING. */
function plainExchange(port: number, user: string, pass: string): Promise<{ info: Record<string, unknown>; after: string }> {
  return new Promise((resolve, reject) => {
    const socket = connectTcp({ host: '127.0.0.1', port });
    let text = '';
    let info: Record<string, unknown> | undefined;
    const timer = setTimeout(() => socket.destroy(), 5_000);
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
      if (!info && text.includes('\r\n')) {
        info = JSON.parse(text.slice('INFO '.length, text.indexOf('\r\n'))) as Record<string, unknown>;
        text = '';
        socket.write(`CONNECT ${JSON.stringify({ user, pass, verbose: false, pedantic: false })}\r\nPING\r\n`);
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      if (info) resolve({ info, after: text });
      else reject(new Error(`no INFO from nats-server: ${text}`));
    });
  });
}

const docker = (...args: string[]) => exec('docker', args, { timeout: 60_000 });

async function containerState(name: string): Promise<{ running: boolean; exitCode: number }> {
  const { stdout } = await docker('inspect', '-f', '{{.State.Running}} {{.State.ExitCode}}', name);
  const [running, exitCode] = stdout.trim().split(' ');
  return { running: running === 'true', exitCode: Number(exitCode) };
}

describe('the maestro image: NATS and the coordinator over TLS, in one container', () => {
  const name = `kp-maestro-test-${randomBytes(4).toString('hex')}`;
  const admin = { user: 'katapult-admin', pass: randomBytes(24).toString('hex') };
  const token = randomBytes(32).toString('hex');
  let state = '';
  let natsPort = 0;
  let httpPort = 0;
  let ca = '';
  let image = '';
  let nodeImage = '';
  let ec2: RefusingEc2;
  let trusting: Agent;

  // nats.js hands extra TLS options to tls.connect; a variable, not a literal, as its type does not list servername.
  const namedTls = () => {
    const options = { ca, servername: TLS_NAME };
    return options;
  };

  const api = (path: string, init: { method?: string; body?: unknown; token?: string; dispatcher?: Agent } = {}) =>
    fetch(`https://127.0.0.1:${httpPort}${path}`, {
      method: init.method ?? 'GET',
      dispatcher: init.dispatcher ?? trusting,
      headers: {
        ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
        ...(init.body ? { 'content-type': 'application/json' } : {}),
      },
      ...(init.body ? { body: JSON.stringify(init.body) } : {}),
    });

  const healthy = () =>
    waitFor(async () => (await api('/health')).status === 200, {
      what: `the maestro's API on 127.0.0.1:${httpPort}`,
      timeoutMs: 30_000,
      intervalMs: 200,
    });

  beforeAll(async () => {
    await requireDocker();
    const engine = connectDocker();
    nodeImage = (await ensureNodeImage(engine, (await ensureBaseImage(engine)).ref)).ref;
    image = (await ensureMaestroImage(engine, { repoRoot: REPO_ROOT, nodeImage })).ref;

    state = await tempDir('maestro-state');
    await writeCertificates(state);
    ca = await readFile(join(state, 'tls', 'ca.pem'), 'utf8');
    await writeFile(join(state, 'nats-auth.json'), `${JSON.stringify({ admin })}\n`, { mode: 0o600 });
    await writeFile(join(state, 'api-token'), `${token}\n`, { mode: 0o600 });
    natsPort = await freePort();
    httpPort = await freePort();
    ec2 = await startRefusingEc2();
    trusting = new Agent({ connect: { ca, servername: TLS_NAME } });

    const envFile = join(state, '..', `${name}.env`);
    await writeFile(
      envFile,
      [
        `KATAPULT_CLUSTER=${CLUSTER}`,
        `KATAPULT_STACK_LABEL=${name}`,
        `KATAPULT_TLS_NAME=${TLS_NAME}`,
        `KATAPULT_NATS_PORT=${natsPort}`,
        `KATAPULT_HTTP_PORT=${httpPort}`,
        'KATAPULT_LISTEN=127.0.0.1',
        // The AWS SDK's own variables, passed through untouched.
        'AWS_REGION=eu-west-3',
        `AWS_ENDPOINT_URL=${ec2.url}`,
        'AWS_ACCESS_KEY_ID=AKIDEXAMPLE',
        'AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
        'AWS_MAX_ATTEMPTS=1',
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    await docker('run', '-d', '--name', name, '--network', 'host', '-v', `${state}:/state`, '--env-file', envFile, image);
    await healthy();
  });

  afterAll(async () => {
    await docker('rm', '-f', name).catch(() => undefined);
    await trusting?.close();
    ec2?.server.close();
    if (state) await rm(state, { recursive: true, force: true });
    if (state) await rm(join(state, '..', `${name}.env`), { force: true });
  });

  it('is tagged by content, built once, and holds nats-server and the dashboard', async () => {
    expect(image).toMatch(/^katapult\/maestro:[0-9a-f]{12}$/);
    const engine = connectDocker();
    expect(await ensureMaestroImage(engine, { repoRoot: REPO_ROOT, nodeImage })).toMatchObject({ ref: image, built: false });
    const empty = await tempDir('maestro-repo');
    await expect(ensureMaestroImage(engine, { repoRoot: empty, nodeImage })).rejects.toThrow(
      /KP_MAESTRO_BUNDLE_MISSING|coordinator\/dist\/maestro\.mjs is missing; run "pnpm build"/,
    );
    await rm(empty, { recursive: true, force: true });
    const { stdout } = await docker(
      'run',
      '--rm',
      '--entrypoint',
      'sh',
      image,
      '-c',
      'nats-server --version && ls /opt/katapult/dashboard',
    );
    expect(stdout).toMatch(/^nats-server: v2\.\d+\.\d+\n/);
    expect(stdout).toContain('index.html');
    expect(await readFile(join(state, 'nats.conf'), 'utf8')).toContain(`listen: "127.0.0.1:${natsPort}"`);
  });

  it('NATS refuses a plaintext client, and a TLS client without credentials or checking another name', async () => {
    const plain = await plainExchange(natsPort, admin.user, admin.pass);
    expect(plain.info['tls_required']).toBe(true);
    expect(plain.after).not.toContain('PONG');

    await expect(connect({ servers: `127.0.0.1:${natsPort}`, tls: namedTls(), reconnect: false })).rejects.toThrow(
      /Authorization Violation/i,
    );
    // The certificate names maestro.katapult only: a client checking the address it dialled refuses it.
    await expect(
      connect({ servers: `127.0.0.1:${natsPort}`, user: admin.user, pass: admin.pass, tls: { ca }, reconnect: false }),
    ).rejects.toThrow(/IP: 127\.0\.0\.1 is not in the cert's list|altnames/i);
  });

  it("accepts the admin over TLS checked against the certificate's name, with JetStream and the coordinator's streams", async () => {
    const nc = await connect({
      servers: `tls://127.0.0.1:${natsPort}`,
      user: admin.user,
      pass: admin.pass,
      tls: namedTls(),
      reconnect: false,
    });
    try {
      const info = JSON.parse(new TextDecoder().decode((await nc.request('$JS.API.INFO', '', { timeout: 5_000 })).data)) as {
        type: string;
        error?: unknown;
      };
      expect(info.error).toBeUndefined();
      expect(info.type).toBe('io.nats.jetstream.api.v1.account_info_response');
      const names = JSON.parse(new TextDecoder().decode((await nc.request('$JS.API.STREAM.NAMES', '{}', { timeout: 5_000 })).data)) as {
        streams: string[];
      };
      expect(names.streams).toContain(clusterNames(CLUSTER).streams.assignments);
    } finally {
      await nc.close();
    }
  });

  it('serves its API over HTTPS to a client trusting only the CA, with the bearer token', async () => {
    expect((await api('/health')).status).toBe(200);
    expect((await api('/runs')).status).toBe(401);
    const runs = await api('/runs', { token });
    expect(runs.status).toBe(200);
    expect(await runs.json()).toEqual([]);
    expect((await api('/')).status).toBe(200);
    expect((await api('/dashboard/app.js')).status).toBe(200);
    // Nothing but TLS, and only with the maestro's CA.
    await expect(fetch(`http://127.0.0.1:${httpPort}/health`)).rejects.toThrow();
    const untrusting = new Agent({ connect: { servername: TLS_NAME } });
    await expect(api('/health', { dispatcher: untrusting })).rejects.toThrow();
    await untrusting.close();
  });

  it('refuses a run placed locally in one line, storing nothing; an AWS run reaches EC2 through the SDK variables', async () => {
    const request = (yaml: string): CreateRunRequest => ({
      spec: loadConfig(
        `project: far\n${yaml}instances: [{type: t3.large, cpus: 2, region: eu-west-3}]\njobs: [{name: a, run_command: "true"}]\n`,
        'far.yaml',
        {
          defaultCpus: 2,
        },
      ),
      configFile: 'far.yaml',
      images: {
        default:
          '123456789012.dkr.ecr.eu-west-3.amazonaws.com/katapult/env@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
      },
      agentImage: AGENT_IMAGE,
      files: {},
    });
    const local = await api('/runs', { method: 'POST', token, body: request('') });
    expect(local.status).toBe(400);
    const refusal = (await local.json()) as { code: string; message: string };
    expect(refusal.code).toBe('KP_MAESTRO_NO_LOCAL');
    expect(refusal.message).not.toContain('\n');
    expect(await (await api('/runs', { token })).json()).toEqual([]);

    const far = await api('/runs', { method: 'POST', token, body: request('provider: aws\nregistry: ecr\nmaestro_address: 127.0.0.1\n') });
    expect(await far.json()).toMatchObject({ code: 'KP_AWS_UNAUTHORIZED' });
    expect(ec2.seen[0]?.action).toBe('DescribeVpcs');
    // Kept, as on a local stack: the coordinator goes on trying to start its instances.
    expect(((await (await api('/runs', { token })).json()) as unknown[]).length).toBe(1);
  });

  it('stops cleanly on SIGTERM within a few seconds, and starts again on the same state', async () => {
    const started = Date.now();
    await docker('stop', '-t', '20', name);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(await containerState(name)).toEqual({ running: false, exitCode: 0 });

    await docker('start', name);
    await healthy();
    expect(((await (await api('/runs', { token })).json()) as unknown[]).length).toBe(1);
  });

  it('ends with a non-zero code when nats-server dies, for its restart policy to start both again', async () => {
    await docker('exec', name, 'sh', '-c', 'kill -9 "$(cat /state/nats.pid)"');
    const ended = await waitFor(
      async () => {
        const now = await containerState(name);
        return now.running ? undefined : now;
      },
      { what: 'the maestro container to end', timeoutMs: 15_000, intervalMs: 200 },
    );
    expect(ended.exitCode).not.toBe(0);
    const { stdout, stderr } = await docker('logs', name);
    expect(`${stdout}${stderr}`).toMatch(/nats-server ended \(killed by SIGKILL\); stopping/);
  });
});
