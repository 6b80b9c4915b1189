import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KatapultError } from '@katapult/core/light';
import { CoordinatorClient } from '../../src/stack/client.js';
import { readNatsAuth } from '../../src/state/nats-auth.js';
import { readRegistryAuth } from '../../src/state/registry-auth.js';
import { readRemoteStack } from '../../src/state/remote-stack.js';
import { readPorts } from '../../src/state/stack-ports.js';
import { readStack, writeStack } from '../../src/state/stack-file.js';
import { StateFolder } from '../../src/state/state-folder.js';

/**
 * The one line the CLI prints for what `run` throws. The checks are loaded apart (core-checks.ts), from core's build
 * under vitest, so their KatapultError is of another copy of the class than this file's: told by its name.
 */
async function lineOf(run: () => unknown): Promise<string> {
  try {
    await run();
  } catch (error) {
    if (error instanceof Error && error.name === 'KatapultError') return (error as KatapultError).toLine();
    throw error;
  }
  throw new Error('it did not throw');
}

const HINT = '(it was changed by hand or by another version: remove it, or run katapult down)';

describe('the state files read back', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kp-read-back-'));
  const state = new StateFolder(dir);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('read as they were written, and as nothing when missing', () => {
    expect(readStack(state)).toBeUndefined();
    expect(readPorts(state)).toEqual({});
    const stack = { label: 'kp', cluster: 'local', nats: { pid: 2 ** 22 + 1, port: 4222 }, registry: { pid: 2 ** 22 + 2, port: 5000 } };
    writeStack(state, stack);
    expect(readStack(state)).toEqual(stack);
  });

  it('a malformed one is a one-line KP_STATE_FILE naming the file and its first wrong field', async () => {
    writeFileSync(
      state.stackFile,
      JSON.stringify({ label: 'kp', cluster: 'local', nats: { pid: 1, port: '4222' }, registry: { pid: 2, port: 5000 } }),
    );
    expect(await lineOf(() => readStack(state))).toBe(`KP_STATE_FILE ${state.stackFile}: nats.port must be an integer ${HINT}`);
    writeFileSync(state.portsFile, '{"registry": 5000,');
    expect(await lineOf(() => readPorts(state))).toBe(`KP_STATE_FILE ${state.portsFile}: not JSON ${HINT}`);
    writeFileSync(state.remoteFile, JSON.stringify({ project: 'p' }));
    expect(await lineOf(() => readRemoteStack(state))).toBe(`KP_STATE_FILE ${state.remoteFile}: region is missing ${HINT}`);
    writeFileSync(state.natsFiles.auth, JSON.stringify({ admin: { user: 'katapult-admin' } }));
    expect(await lineOf(() => readNatsAuth(state))).toBe(`KP_STATE_FILE ${state.natsFiles.auth}: admin.pass is missing ${HINT}`);
    writeFileSync(state.registryFiles.auth, JSON.stringify({ push: { username: 'u', password: 'p' }, pull: null }));
    expect(await lineOf(() => readRegistryAuth(state))).toBe(`KP_STATE_FILE ${state.registryFiles.auth}: pull must be an object ${HINT}`);
  });
});

describe("the coordinator's answers read back", () => {
  let answer: { status: number; body: string } = { status: 200, body: '[]' };
  const server: Server = createServer((_request, response) => {
    response.writeHead(answer.status, { 'content-type': 'application/json' });
    response.end(answer.body);
  });
  let client: CoordinatorClient;

  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    client = new CoordinatorClient(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, 'token');
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('are taken when they match the route schema', async () => {
    answer = { status: 201, body: JSON.stringify({ runId: 'r-1', jobs: 2, resumed: false }) };
    expect(await client.createRun({} as never)).toEqual({ runId: 'r-1', jobs: 2, resumed: false });
  });

  it('one of another shape, or not JSON, is a one-line KP_API_BAD_RESPONSE naming the call and the field', async () => {
    answer = { status: 201, body: JSON.stringify({ runId: 'r-1', jobs: '2', resumed: false }) };
    expect(await lineOf(() => client.createRun({} as never))).toMatch(/^KP_API_BAD_RESPONSE POST \/runs: jobs must be an integer \(/);
    answer = { status: 200, body: JSON.stringify([{ agentId: 'a' }]) };
    expect(await lineOf(() => client.listAgents())).toMatch(/^KP_API_BAD_RESPONSE GET \/agents: 0\.instanceId is missing \(/);
    answer = { status: 200, body: '<html>proxy error</html>' };
    expect(await lineOf(() => client.listRuns())).toBe('KP_API_BAD_RESPONSE GET /runs: the answer is not JSON');
  });

  it("an error's body keeps its code", async () => {
    answer = { status: 404, body: JSON.stringify({ code: 'KP_RUN_NOT_FOUND', message: 'no run "r-9"' }) };
    expect(await lineOf(() => client.getRun('r-9'))).toBe('KP_RUN_NOT_FOUND no run "r-9"');
  });
});
