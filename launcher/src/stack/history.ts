import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, openSync, closeSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import { Kvm, type KV } from '@nats-io/kv';
import {
  clusterNames,
  ExitCode,
  KatapultError,
  natsServerConfig,
  runViewOf,
  type ReadBack,
  type RunRecord,
  type RunView,
} from '@katapult/core/light';
import { coreChecks } from '../core-checks.js';
import { findBinary } from './find-binary.js';
import { connectNats, type NatsAccess } from './nats.js';
import { freePort, portOpen } from './processes.js';
import { CLUSTER } from '../state/stack-file.js';
import { keptMaxFileStore } from '../state/nats-auth.js';
import type { StateFolder } from '../state/state-folder.js';

/** What status, logs and fetch read about runs: the coordinator's API, or the history kept on disk. */
export interface RunReader {
  listRuns(): Promise<RunView[]>;
  getRun(runId: string): Promise<RunView>;
}

export interface History {
  runs: RunReader;
  nats: NatsAccess;
  close(): Promise<void>;
}

/**
 * With no stack running, the runs of the last one are still in <state>/nats. This starts a nats-server of its
 * own on that data (127.0.0.1, a free port, a one-time user; no coordinator, no agent), for one command to read,
 * and stops it after. The stack's own NATS must not run on the same data at the same time: callers come here
 * only when it does not.
 */
export async function openHistory(state: StateFolder): Promise<History> {
  const binary = findBinary('nats-server');
  if (!binary) {
    throw new KatapultError('KP_STACK_MISSING_BINARY', 'nats-server is not installed, so the kept history cannot be read', {
      hint: 'run "pnpm run setup", or install it: apt-get install nats-server',
      exitCode: ExitCode.infrastructure,
    });
  }
  const scratch = mkdtempSync(join(tmpdir(), 'katapult-history-'));
  const port = await freePort();
  const access: NatsAccess = { url: `nats://127.0.0.1:${port}`, user: 'history', pass: randomBytes(18).toString('base64url') };
  const config = join(scratch, 'nats.conf');
  writeFileSync(
    config,
    natsServerConfig({
      listen: `127.0.0.1:${port}`,
      storeDir: state.natsStore,
      // The store size the stack kept, so every stream loads as it did for the stack (keepMaxFileStore).
      maxFileStoreBytes: keptMaxFileStore(state),
      user: { user: access.user, pass: access.pass },
    }),
    { mode: 0o600 },
  );
  const logFile = state.log('nats-history');
  const out = openSync(existsSync(state.logsFolder) ? logFile : join(scratch, 'nats.log'), 'a');
  const child = spawn(binary, ['-c', config], { stdio: ['ignore', out, out] });
  closeSync(out);
  const stop = async () => {
    await stopChild(child);
    rmSync(scratch, { recursive: true, force: true });
  };
  try {
    const nc = await connectWhenReady(access, child);
    const names = clusterNames(CLUSTER);
    const kvm = new Kvm(nc);
    const runs = await kvm.open(names.buckets.runs);
    const jobs = await kvm.open(names.buckets.jobs);
    const view = async (run: RunRecord) =>
      runViewOf(
        run,
        (await valuesOf(jobs, `${run.id}.>`, coreChecks().storeRecords.job)).sort((a, b) => a.index - b.index),
      );
    const allRuns = async () => (await valuesOf(runs, '>', coreChecks().storeRecords.run)).sort((a, b) => a.createdAt - b.createdAt);
    return {
      nats: access,
      runs: {
        listRuns: async () => Promise.all((await allRuns()).map(view)),
        getRun: async (runId) => {
          const run = (await allRuns()).find((candidate) => candidate.id === runId);
          if (!run) throw new KatapultError('KP_RUN_NOT_FOUND', `no run "${runId}"`, { exitCode: ExitCode.badInput });
          return view(run);
        },
      },
      close: async () => {
        await nc.close().catch(() => undefined);
        await stop();
      },
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function connectWhenReady(access: NatsAccess, child: ChildProcess): Promise<NatsConnection> {
  const port = Number(new URL(access.url).port);
  const deadline = Date.now() + 30_000;
  let exited = false;
  child.once('exit', () => (exited = true));
  while (Date.now() < deadline && !exited) {
    if (await portOpen(port)) {
      const nc = await connectNats(access, 'katapult-history').catch(() => undefined);
      if (nc) {
        // JetStream answers once it has recovered the streams from disk.
        const ready = await new Kvm(nc).open(clusterNames(CLUSTER).buckets.runs).then(
          () => true,
          () => false,
        );
        if (ready) return nc;
        await nc.close();
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new KatapultError('KP_HISTORY_UNREADABLE', 'the kept history could not be opened: nats-server did not start on it', {
    hint: "see the state folder's logs/nats-history.log",
    exitCode: ExitCode.infrastructure,
  });
}

/** The latest value of every key matching `filter`, in key order, each checked: a malformed one is a KP_STORE_RECORD line. */
async function valuesOf<T>(kv: KV, filter: string, check: ReadBack<T>): Promise<T[]> {
  const keys: string[] = [];
  for await (const key of await kv.keys(filter)) keys.push(key);
  keys.sort();
  const values: T[] = [];
  const decoder = new TextDecoder();
  for (let at = 0; at < keys.length; at += 64) {
    const entries = await Promise.all(keys.slice(at, at + 64).map((key) => kv.get(key)));
    for (const entry of entries) {
      if (!entry || entry.operation !== 'PUT') continue;
      const where = `the kept history's record ${entry.key}`;
      let value: unknown;
      try {
        value = JSON.parse(decoder.decode(entry.value));
      } catch {
        throw new KatapultError('KP_STORE_RECORD', `${where}: not JSON`, { exitCode: ExitCode.infrastructure });
      }
      values.push(check(value, where));
    }
  }
  return values;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}
