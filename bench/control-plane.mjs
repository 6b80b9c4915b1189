// The control plane alone: the real coordinator (its own process) and nats-server, with simulated agents that
// speak the real protocol over real NATS (heartbeat records, a durable consumer of their assignments, running and
// exited reports) but start no container. Figures for a sweep of N `true` jobs on 100 agents: jobs/s from submit
// to the run's end, coordinator CPU ms per job, coordinator and nats-server RSS; then a coordinator SIGKILLed with
// a whole sweep stored (time until placements resume), `GET /runs/:id` of it, and cancelling it.
// Prints numbers; asserts nothing. Needs nats-server and `pnpm build` first. BENCH_JOBS="1000 10000" by default;
// BENCH_CPUS: cpus of each simulated agent (2).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { connect } from '@nats-io/transport-node';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { agentRecordCodec, assignmentCodec, clusterNames, jobReportCodec, loadConfig, poolsOf } from '@katapult/core';
import { bundleNodePrograms } from '@katapult/coordinator/bundler';
import { freePort, waitFor } from '@katapult/testkit';

const AGENTS = 100;
const CPUS = Number(process.env.BENCH_CPUS ?? 2);
const SIZES = (process.env.BENCH_JOBS ?? '1000 10000').split(/\s+/).filter(Boolean).map(Number);
const CLUSTER = 'bench';
const names = clusterNames(CLUSTER);
const TOKEN = randomBytes(32).toString('hex');
const dir = await mkdtemp(join(tmpdir(), 'katapult-bench-cp-'));
// BENCH_PROFILE_DIR: the coordinator writes a CPU profile there (it is then stopped, not SIGKILLed, so it can).
const PROFILE_FLAGS = process.env.BENCH_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}`] : [];
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
// Bundled as the local stack's coordinator is (coordinator/bundle.mjs), so a restart loads as fast as that one does.
await bundleNodePrograms({ coordinator: join(import.meta.dirname, 'control-plane-coordinator.mjs') }, dir);

/** utime + stime of a process, in ms, and its resident memory in MiB, from /proc. */
async function usage(pid) {
  const stat = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1].split(' ');
  const cpuMs = ((Number(stat[11]) + Number(stat[12])) * 1000) / 100;
  const rss = /VmRSS:\s+(\d+)/.exec(await readFile(`/proc/${pid}/status`, 'utf8'))?.[1];
  return { cpuMs, rssMiB: Number(rss) / 1024 };
}

const natsPort = await freePort();
const monitorPort = await freePort();
const nats = spawn('nats-server', ['-a', '127.0.0.1', '-p', String(natsPort), '-m', String(monitorPort), '-js', '-sd', join(dir, 'nats')], {
  stdio: 'ignore',
});
/** Messages nats-server has taken in and sent out so far, from its monitoring endpoint. */
async function natsMessages() {
  const varz = await (await fetch(`http://127.0.0.1:${monitorPort}/varz`)).json();
  return varz.in_msgs + varz.out_msgs;
}
const natsUrl = `nats://127.0.0.1:${natsPort}`;
const nc = await waitFor(() => connect({ servers: natsUrl }), { what: 'nats-server', timeoutMs: 20_000, intervalMs: 100 });

let coordinator;
let api;
// The bench's children go with it, however it ends.
process.on('exit', () => {
  coordinator?.kill('SIGKILL');
  nats.kill('SIGKILL');
});
async function startCoordinatorProcess() {
  const child = spawn(process.execPath, [...PROFILE_FLAGS, join(dir, 'coordinator.mjs')], {
    env: {
      ...process.env,
      KATAPULT_NATS_URL: natsUrl,
      KATAPULT_CLUSTER: CLUSTER,
      KATAPULT_AGENT_IMAGE: 'bench/simulated@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
      KATAPULT_STACK_LABEL: 'bench',
      KATAPULT_API_TOKEN: TOKEN,
      KATAPULT_HEARTBEAT_MS: '2000',
      BENCH_COORDINATOR_LOG: join(dir, 'coordinator.log'),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [line] = await Promise.race([
    (async () => {
      for await (const first of createInterface({ input: child.stdout })) return [first];
    })(),
    new Promise((_, reject) => child.once('exit', (code) => reject(new Error(`the coordinator exited with ${code}`)))),
  ]);
  coordinator = child;
  api = JSON.parse(line).url;
}

const call = async (method, path, body) => {
  const response = await fetch(`${api}${path}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
  return response.json();
};

const spec = (jobs) =>
  loadConfig(
    `project: bench\ninstances: [{number: ${AGENTS}, cpus: ${CPUS}}]\njobs:\n  - {name: t, run_command: "true", repeat: ${jobs}}\n`,
    'bench.yaml',
    {
      defaultCpus: CPUS,
    },
  );
const pool = poolsOf(spec(2))[0].id;
const submit = (jobs) =>
  call('POST', '/runs', {
    spec: spec(jobs),
    configFile: 'bench.yaml',
    images: { default: 'bench/simulated@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' },
    files: {},
  });

/** The simulated agents: each heartbeats, and reports each assignment running then exited 0 at once. */
const js = jetstream(nc);
const jsm = await jetstreamManager(nc);
let agentsBucket;
let reporting = true;
let firstAssignmentAt;
let restartFrom = 0;
const agentIds = Array.from({ length: AGENTS }, (_, i) => `sim-${i}`);
async function heartbeat() {
  const now = Date.now();
  await Promise.all(
    agentIds.map((agentId) =>
      agentsBucket.put(
        agentId,
        agentRecordCodec.encode({ v: 1, agentId, instanceId: agentId, cpus: CPUS, pool, startedAt: now, at: now, running: [] }),
      ),
    ),
  );
}
async function startAgents() {
  agentsBucket = await new Kvm(nc).open(names.buckets.agents);
  for (const agentId of agentIds) {
    await jsm.consumers.add(names.streams.assignments, {
      durable_name: names.agentConsumer(agentId),
      filter_subject: names.assignmentSubject(agentId),
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
    });
    const messages = await (
      await js.consumers.get(names.streams.assignments, names.agentConsumer(agentId))
    ).consume({ max_messages: CPUS * 2 });
    void (async () => {
      for await (const message of messages) {
        const decoded = assignmentCodec.decode(message.data);
        if (!decoded.ok) {
          message.term();
          continue;
        }
        // Only an assignment published after the kill shows placements resumed.
        if (Number(message.info.timestampNanos) / 1e6 >= restartFrom) firstAssignmentAt ??= Date.now();
        while (!reporting) await sleep(50);
        const { runId, jobId, attempt } = decoded.value;
        const report = (type, extra = {}) =>
          js.publish(
            names.eventSubject(agentId, runId, jobId),
            jobReportCodec.encode({ v: 1, runId, jobId, attempt, agentId, type, at: Date.now(), ...extra }),
          );
        await report('running');
        await report('exited', { exitCode: 0, outputs: { object: null, missing: [] } });
        message.ack();
      }
    })();
  }
}
/**
 * The dashboard on the stored sweep, in headless Chromium (when /usr/bin/chromium is there): from opening the page
 * to its first page of jobs, and from a click on Next to the page after; with the time of `GET /runs/summary`.
 */
async function dashboardFigures(runId, jobs) {
  const CHROMIUM = '/usr/bin/chromium';
  if (!existsSync(CHROMIUM)) return console.log(`  dashboard: skipped (${CHROMIUM} is missing)`);
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
  try {
    const summaryStarted = performance.now();
    await call('GET', '/runs/summary');
    const summaryMs = performance.now() - summaryStarted;
    const page = await browser.newPage();
    const range = () => page.locator('#jobs-range').innerText();
    const opened = performance.now();
    await page.goto(`${api}/#token=${TOKEN}`);
    await waitFor(async () => (await range()) === `jobs 1–200 of ${jobs}`, {
      what: 'the first page of jobs',
      timeoutMs: 120_000,
      intervalMs: 10,
    });
    const firstMs = performance.now() - opened;
    const clicks = [];
    for (let pageIndex = 1; pageIndex <= 5; pageIndex++) {
      const clicked = performance.now();
      await page.locator('#jobs-next').click();
      await waitFor(async () => (await range()).startsWith(`jobs ${pageIndex * 200 + 1}–`), {
        what: 'the next page',
        timeoutMs: 60_000,
        intervalMs: 10,
      });
      clicks.push(performance.now() - clicked);
    }
    clicks.sort((a, b) => a - b);
    console.log(
      `  dashboard on that run: first page of jobs ${firstMs.toFixed(0)} ms after opening it; Next to the next page min ${clicks[0].toFixed(0)} ms, median ${clicks[2].toFixed(0)} ms; GET /runs/summary ${summaryMs.toFixed(0)} ms`,
    );
  } finally {
    await browser.close();
  }
}

const runState = async (runId) => {
  const entry = await (await new Kvm(nc).open(names.buckets.runs)).get(runId);
  return entry ? JSON.parse(new TextDecoder().decode(entry.value)).state : undefined;
};

await startCoordinatorProcess();
await startAgents();
await heartbeat();
const beat = setInterval(() => void heartbeat(), 2000);

console.log(
  `katapult control plane: ${AGENTS} simulated agents x ${CPUS} cpus, jobs of "true", real coordinator and nats-server (load ${(await readFile('/proc/loadavg', 'utf8')).split(' ').slice(0, 3).join(' ')})`,
);
const natsPid = nats.pid;
// A fresh coordinator's first jobs pay for its JIT compiling them (about twice the per-job CPU, measured): a
// warm-up sweep first, so the sizes compare the coordinator's cost per job, not its start.
const WARM_UP = Number(process.env.BENCH_WARM_UP_JOBS ?? 1000);
if (WARM_UP > 0) {
  const { runId } = await submit(WARM_UP);
  await waitFor(async () => (await runState(runId)) !== 'running', { what: 'the warm-up run to end', timeoutMs: 600_000, intervalMs: 100 });
  console.log(`  warm-up: a sweep of ${WARM_UP} jobs, not measured (BENCH_WARM_UP_JOBS=0: none)`);
}
// What the coordinator costs with agents heartbeating and nothing to do: part of every run's per-job figure.
const idleBefore = await usage(coordinator.pid);
await sleep(5000);
console.log(
  `  idle (agents heartbeating, no run): coordinator ${(((await usage(coordinator.pid)).cpuMs - idleBefore.cpuMs) / 5).toFixed(1)} ms CPU/s`,
);
for (const jobs of SIZES) {
  const before = await usage(coordinator.pid);
  const natsBefore = await usage(natsPid);
  const messagesBefore = await natsMessages();
  const benchBefore = process.cpuUsage();
  const started = performance.now();
  const { runId } = await submit(jobs);
  await waitFor(async () => (await runState(runId)) !== 'running', { what: `run ${runId} to end`, timeoutMs: 3_600_000, intervalMs: 100 });
  const seconds = (performance.now() - started) / 1000;
  const after = await usage(coordinator.pid);
  const natsAfter = await usage(natsPid);
  const messages = (await natsMessages()) - messagesBefore;
  const bench = process.cpuUsage(benchBefore);
  console.log(
    `  ${String(jobs).padStart(6)} jobs: ${(jobs / seconds).toFixed(0).padStart(6)} jobs/s (${seconds.toFixed(1)} s), coordinator ${((after.cpuMs - before.cpuMs) / jobs).toFixed(2)} ms CPU/job, ` +
      `nats-server ${((natsAfter.cpuMs - natsBefore.cpuMs) / jobs).toFixed(2)} ms CPU/job, simulated agents ${((bench.user + bench.system) / 1000 / jobs).toFixed(2)} ms CPU/job; RSS coordinator ${after.rssMiB.toFixed(0)} MiB, nats-server ${natsAfter.rssMiB.toFixed(0)} MiB; ` +
      `NATS messages in and out ${(messages / jobs).toFixed(1)}/job (heartbeats and polls included)`,
  );
}

// A whole sweep stored and waiting (the agents hold their first assignments), then the coordinator killed.
const stored = SIZES.at(-1);
reporting = false;
const { runId: waitingRun } = await submit(stored);
let started = performance.now();
const view = await call('GET', `/runs/${waitingRun}`);
console.log(`  GET /runs/:id of a ${view.jobs.length}-job run: ${(performance.now() - started).toFixed(0)} ms`);
await dashboardFigures(waitingRun, view.jobs.length);
coordinator.kill(PROFILE_FLAGS.length > 0 ? 'SIGTERM' : 'SIGKILL');
await new Promise((resolve) => coordinator.once('exit', resolve));
const killedAt = Date.now();
restartFrom = killedAt;
firstAssignmentAt = undefined;
reporting = true;
await startCoordinatorProcess();
await waitFor(() => firstAssignmentAt, { what: 'a placement after the restart', timeoutMs: 600_000, intervalMs: 20 });
console.log(
  `  coordinator SIGKILLed with ${stored} jobs stored: placements resume ${((firstAssignmentAt - killedAt) / 1000).toFixed(2)} s after the kill (process start included)`,
);
reporting = false;
started = performance.now();
const cancelled = await call('POST', `/runs/${waitingRun}/cancel`, {});
console.log(`  cancel of that run (${cancelled.cancelled.length} jobs cancelled): ${(performance.now() - started).toFixed(0)} ms`);

clearInterval(beat);
coordinator.kill('SIGTERM');
await nc.close();
nats.kill('SIGTERM');
await new Promise((resolve) => nats.once('exit', resolve));
await rm(dir, { recursive: true, force: true });
process.exit(0);
