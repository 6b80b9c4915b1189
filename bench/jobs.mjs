// Figures for running jobs end to end on the local default, through the real CLI (node cli/bin/run.js) with a
// private state folder (KATAPULT_HOME), so it starts its own NATS, registry, coordinator and agents, and
// `katapult down` removes them at the end. Two instances of 2 cpus; one environment with no packages.
// Prints numbers; asserts nothing. Needs Docker, nats-server, docker-registry, and `pnpm build` first.
import { spawn } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BIN, privateStack, REPO_ROOT, sleep } from './cli-runner.mjs';

const JOBS = Number(process.env.BENCH_SHORT_JOBS ?? 100);
const CONCURRENCY = 4; // 2 instances x 2 cpus, 1 cpu a job
const SHORT_COMMAND = process.env.BENCH_SHORT_COMMAND ?? 'true';
// A long run says how far it got now and then: cut short, the figures so far are still there.
const PROGRESS_EVERY_MS = 60_000;
const LOG_LINES = 200;
// The job waits before printing so that `logs -f` (a CLI start, ~0.6 s here) is attached before the first line.
const LOG_COMMAND = `sleep 4; for i in $(seq 1 ${LOG_LINES}); do date +%s%N; sleep 0.02; done`;

const { home, env, exec, katapult } = await privateStack('katapult-bench-jobs-');
/** Wall-clock time in ms with sub-ms precision, comparable to Date.now() and to `date +%s%N` in a container. */
const nowMs = () => performance.timeOrigin + performance.now();

/** A config with one environment (the base image), 2 instances of 2 cpus, and one kind of job. */
async function config(file, job) {
  const lines = [
    'project: bench',
    'job_assign: multi_knapsack',
    'instances:',
    '  - number: 2',
    '    cpus: 2',
    'environments:',
    '  - name: base',
    'jobs:',
    `  - name: ${job.name}`,
    '    env_name: base',
    `    run_command: ${JSON.stringify(job.command)}`,
    '    cpus_req: 1',
    `    repeat: ${job.repeat ?? 1}`,
  ];
  const path = join(home, file);
  await writeFile(path, `${lines.join('\n')}\n`);
  return path;
}

function check(what, result) {
  if (result.code === 0) return;
  throw new Error(`${what} exited with ${result.code}\n${result.stdout.slice(-2000)}\n${result.stderr.slice(-2000)}`);
}

async function status(runId) {
  const result = await katapult(['status', runId, '--json']);
  check(`katapult status ${runId}`, result);
  return JSON.parse(result.stdout)[0];
}

/** launch --detach; returns the run id and when the launch command was started and returned. */
async function launchDetached(file) {
  const startedAt = Date.now();
  const result = await katapult(['launch', file, '--detach', '--json']);
  check('katapult launch --detach', result);
  return { runId: JSON.parse(result.stdout).runId, startedAt, returnedAt: Date.now() };
}

const STARTED = new Set(['running', 'done', 'failed']);

/** Launch → first job running: polls `status --json` (100 ms between calls) until a job has started. */
async function timeToFirstRunning(file) {
  const launch = await launchDetached(file);
  for (;;) {
    const run = await status(launch.runId);
    const started = run.jobs.filter((job) => STARTED.has(job.state) && job.startedAt !== null);
    if (started.length > 0) {
      const first = Math.min(...started.map((job) => job.startedAt));
      return {
        submitted: (launch.returnedAt - launch.startedAt) / 1000,
        running: (first - launch.startedAt) / 1000,
        seen: (Date.now() - launch.startedAt) / 1000,
        runId: launch.runId,
      };
    }
    if (run.state !== 'running') throw new Error(`run ${launch.runId} ended (${run.state}) with no job started`);
    await sleep(100);
  }
}

async function waitForRun(runId, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const run = await status(runId);
    if (run.state !== 'running' || Date.now() > deadline) return run;
    await sleep(200);
  }
}

/**
 * `katapult launch` to the end of its run, as `katapult(...)` resolves, printing every PROGRESS_EVERY_MS the last
 * line it printed (in a pipe it prints the run's counts as they change).
 */
function launchShowingProgress(file) {
  return new Promise((resolve) => {
    const started = performance.now();
    const child = spawn(process.execPath, [BIN, 'launch', file], { cwd: REPO_ROOT, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const progress = setInterval(() => {
      const last = stdout.trimEnd().split('\n').at(-1) ?? '';
      console.log(`    after ${((performance.now() - started) / 1000).toFixed(0)} s: ${last.trim()}`);
    }, PROGRESS_EVERY_MS);
    child.on('close', (code) => {
      clearInterval(progress);
      resolve({ code, stdout, stderr, seconds: (performance.now() - started) / 1000 });
    });
  });
}

/** Runs `count` commands, `concurrency` at a time; resolves with the wall time and how many failed. */
async function pool(count, concurrency, task) {
  let next = 0;
  let failed = 0;
  let finished = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < count) {
      next += 1;
      if ((await task()).code !== 0) failed += 1;
      finished += 1;
      if (finished % Math.max(1, Math.round(count / 5)) === 0) {
        console.log(`    after ${((performance.now() - started) / 1000).toFixed(0)} s: ${finished} of ${count} done`);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { seconds: (performance.now() - started) / 1000, failed };
}

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
const line = (what, value) => console.log(`${what.padEnd(66)} ${value}`);
const seconds = (s) => `${s.toFixed(2).padStart(8)} s`;

try {
  const tiny = await config('tiny.yaml', { name: 'tiny', command: SHORT_COMMAND });
  const hundred = await config('hundred.yaml', { name: 'short', command: SHORT_COMMAND, repeat: JOBS });
  const ticks = await config('ticks.yaml', { name: 'ticks', command: LOG_COMMAND });

  console.log(`katapult jobs: local default, 2 instances x 2 cpus, base environment (state folder ${home})`);
  const warm = await katapult(['launch', tiny]);
  check('warm-up launch', warm);
  line('warm-up launch (builds and pushes the images, starts everything)', seconds(warm.seconds));

  console.log('');
  console.log('launch -> first job running (images already built; launch --detach, then status --json every 100 ms)');
  console.log('  running = the job\'s startedAt: the coordinator applied the agent\'s "running" report (container started)');
  console.log('  seen    = when a status --json poll (a CLI start, ~0.6 s) first showed it');
  check('katapult down', await katapult(['down']));
  const cold = await timeToFirstRunning(tiny);
  line(
    '  stack down (servers, coordinator and agents started by launch)',
    `submitted ${seconds(cold.submitted)}, running ${seconds(cold.running)}, seen ${seconds(cold.seen)}`,
  );
  await waitForRun(cold.runId);
  const hot = await timeToFirstRunning(tiny);
  line('  stack and agents already up', `submitted ${seconds(hot.submitted)}, running ${seconds(hot.running)}, seen ${seconds(hot.seen)}`);
  await waitForRun(hot.runId);

  console.log('');
  console.log(`${JOBS} short jobs (${SHORT_COMMAND}, cpus_req 1), ${CONCURRENCY} at a time, stack and agents up`);
  const launch = await launchShowingProgress(hundred);
  const runId = /run (r-[0-9a-z-]+) submitted/.exec(launch.stdout)?.[1];
  if (!runId)
    throw new Error(`launch exited with ${launch.code} before submitting\n${launch.stdout.slice(-2000)}\n${launch.stderr.slice(-2000)}`);
  const run = await status(runId);
  const done = run.jobs.filter((job) => job.state === 'done').length;
  const firstStart = Math.min(...run.jobs.map((job) => job.startedAt ?? Infinity));
  const lastEnd = Math.max(...run.jobs.map((job) => job.finishedAt ?? -Infinity));
  line(
    "  katapult launch, to the end of the run (the command's wall time)",
    `${seconds(launch.seconds)}  (${done}/${JOBS} done, exit ${launch.code})`,
  );
  line('    of which first job started -> last job finished', seconds((lastEnd - firstStart) / 1000));
  const images = await katapult(['images', 'ls', '--json']);
  check('katapult images ls', images);
  const image = JSON.parse(images.stdout)[0].ref;
  const docker = await pool(JOBS, CONCURRENCY, () => exec('docker', ['run', '--rm', image, '/bin/sh', '-c', SHORT_COMMAND]));
  line(`  docker run --rm <same image> (${CONCURRENCY} at a time)`, `${seconds(docker.seconds)}  (${JOBS - docker.failed}/${JOBS} exit 0)`);
  line('  katapult / docker run', `${(launch.seconds / docker.seconds).toFixed(2).padStart(8)}`);
  line(
    '  per job: katapult, docker run (wall time x concurrency / jobs)',
    `${seconds((launch.seconds * CONCURRENCY) / JOBS)}, ${seconds((docker.seconds * CONCURRENCY) / JOBS)}`,
  );

  console.log('');
  console.log(`logs -f latency: a job printing ${LOG_LINES} lines of date +%s%N, 20 ms apart; latency = received by logs -f - printed`);
  const logRun = await launchDetached(ticks);
  const followStarted = nowMs();
  const follow = spawn(process.execPath, [BIN, 'logs', 'ticks', '-f', '--run', logRun.runId], { cwd: REPO_ROOT, env });
  const latencies = [];
  let replayed = 0;
  let pending = '';
  let followErr = '';
  follow.stderr.on('data', (chunk) => (followErr += chunk));
  follow.stdout.on('data', (chunk) => {
    const received = nowMs();
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop();
    for (const text of lines) {
      if (!/^\d{19}$/.test(text.trim())) continue;
      const printed = Number(BigInt(text.trim()) / 1000n) / 1000; // ns -> ms, keeping µs
      if (printed < followStarted) replayed += 1;
      latencies.push(received - printed);
    }
  });
  const followCode = await new Promise((resolve) => follow.on('close', resolve));
  if (followCode !== 0) console.log(`  logs -f exited with ${followCode}: ${followErr.trim()}`);
  latencies.sort((a, b) => a - b);
  line('  lines received', `${String(latencies.length).padStart(8)}   (${replayed} printed before logs -f started)`);
  if (latencies.length > 0) {
    line('  p50', `${percentile(latencies, 50).toFixed(1).padStart(8)} ms`);
    line('  p99', `${percentile(latencies, 99).toFixed(1).padStart(8)} ms`);
    line('  max', `${latencies.at(-1).toFixed(1).padStart(8)} ms`);
  }
  await waitForRun(logRun.runId);
} finally {
  const down = await katapult(['down']);
  if (down.code !== 0) console.error(`katapult down exited with ${down.code}: ${down.stderr.trim()}`);
  else await rm(home, { recursive: true, force: true }).catch(() => undefined);
}
