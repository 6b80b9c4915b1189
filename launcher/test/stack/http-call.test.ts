import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpCall } from '../../src/stack/http-call.js';
import { ensureNatsTls } from '../../src/state/nats-tls.js';
import { StateFolder } from '../../src/state/state-folder.js';

/** Answers each request with what it received, as JSON; /text answers plain text, /missing 404. */
function echo(req: IncomingMessage, res: ServerResponse): void {
  let body = '';
  req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
  req.on('end', () => {
    if (req.url === '/text') return void res.end('not json');
    res.writeHead(req.url === '/missing' ? 404 : 200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ method: req.method, url: req.url, authorization: req.headers.authorization ?? null, body }));
  });
}

const listen = (server: Server) =>
  new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));

describe('httpCall', () => {
  let dir: string;
  const http = createHttpServer(echo);
  let httpPort: number;
  let https: Server;
  let httpsPort: number;
  let ca: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kp-http-call-'));
    const tls = ensureNatsTls(new StateFolder(dir), ['maestro.test']);
    ca = await readFile(tls.ca, 'utf8');
    https = createHttpsServer({ cert: await readFile(tls.cert), key: await readFile(tls.key) }, echo);
    [httpPort, httpsPort] = await Promise.all([listen(http), listen(https)]);
  });
  afterAll(async () => {
    http.close();
    https.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('sends the method, headers and body, and reads the status and the JSON answered', async () => {
    const answer = await httpCall(`http://127.0.0.1:${httpPort}/runs`, {
      method: 'POST',
      headers: { authorization: 'Bearer t' },
      body: '{"a":1}',
    });
    expect(answer).toEqual({ status: 200, ok: true, json: { method: 'POST', url: '/runs', authorization: 'Bearer t', body: '{"a":1}' } });
    expect(await httpCall(`http://127.0.0.1:${httpPort}/missing`)).toMatchObject({ status: 404, ok: false });
    expect((await httpCall(`http://127.0.0.1:${httpPort}/text`)).json).toBeUndefined();
  });

  it('trusts the CA given over https, checking the name the certificate bears, and nothing else', async () => {
    const answer = await httpCall(`https://127.0.0.1:${httpsPort}/health`, { tls: { ca, servername: 'maestro.test' } });
    expect(answer.json).toMatchObject({ url: '/health' });
    await expect(httpCall(`https://127.0.0.1:${httpsPort}/health`, { tls: { ca, servername: 'other.test' } })).rejects.toThrow(
      /other\.test/,
    );
    await expect(httpCall(`https://127.0.0.1:${httpsPort}/health`)).rejects.toThrow();
  });

  it('rejects when nothing listens', async () => {
    const closed = createHttpServer();
    const port = await listen(closed);
    await new Promise((resolve) => closed.close(resolve));
    await expect(httpCall(`http://127.0.0.1:${port}/`)).rejects.toThrow(/ECONNREFUSED/);
  });
});
