// Chaos on the local default: 50 jobs run through the real CLI (node cli/bin/run.js) with a private state folder
// (KATAPULT_HOME), while four faults are injected for real, one after the other, each with jobs running:
//   1. an agent container is killed (docker kill),
//   2. the coordinator gets SIGKILL, and `katapult launch <same config>` brings it back (the run resumes),
//   3. nats-server is stopped (SIGTERM) for about 3 s, and `launch` again starts it on the same port,
//   4. an attached `katapult launch` is interrupted with SIGINT (exit 130; the run goes on), then status reattaches.
// Then it waits for the run to end and prints jobs done / failed / aborted / unfinished, attempts lost and
// redone, jobs that ran to completion more than once (from their logs), outputs fetched and missing, the wall
// time and the timeline of the faults. Prints numbers; asserts nothing. `katapult down` runs at the end.
// Needs Docker, nats-server, docker-registry, and `pnpm build` first.
import { spawn } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BIN, privateStack, REPO_ROOT, sleep } from './cli-runner.mjs';

const JOBS = 50;
// Each job draws a marker, sleeps 1-3 s, writes the marker to done.txt, then prints "ran <marker>": a job whose
// log shows two different markers ran to completion twice; done.txt says which completion was kept.
const COMMAND = 'id=$(cat /proc/sys/kernel/random/uuid); sleep $(shuf -i 1-3 -n 1); echo "$id" > done.txt; echo "ran $id"';
const RAN = /^ran ([0-9a-f-]{36})$/;
// A fault is injected once this many more jobs have ended since the previous one, and a job is running.
const JOBS_BETWEEN_FAULTS = 6;
const FAULT_WAIT_MS = 180_000; // at most, for the conditions of one fault
const END_WAIT_MS = 300_000; // at most, for the run to end after the last fault
const NATS_DOWN_MS = 3_000;

const { home, env, exec, katapult } = await privateStack('katapult-bench-chaos-');
const stack = () => JSON.parse(readFileSync(join(home, 'stack.json'), 'utf8'));
const line = (what, value) => console.log(`${what.padEnd(58)} ${value}`);
const lastLine = (text) => text.trim().split('\n').at(-1) ?? '';

function check(what, result) {
  if (result.code === 0) return;
  throw new Error(`${what} exited with ${result.code}\n${result.stdout.slice(-2000)}\n${result.stderr.slice(-2000)}`);
}

function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

let t0 = Date.now(); // reset when the run is submitted
const since = (at = Date.now()) => `${((at - t0) / 1000).toFixed(1).padStart(6)} s`;
const timeline = [];
const note = (text) => {
  timeline.push({ at: Date.now(), text });
  console.log(`  ${since()}  ${text}`);
};

/** The run as `status --json` shows it, or null while the CLI cannot reach the stack (a fault under way). */
async function status(runId) {
  const result = await katapult(['status', runId, '--json']);
  if (result.code !== 0) return null;
  try {
    return JSON.parse(result.stdout)[0] ?? null;
  } catch {
    return null;
  }
}

const FINAL = new Set(['done', 'failed', 'aborted']);
const ended = (run) => run.jobs.filter((job) => FINAL.has(job.state)).length;
const running = (run) => run.jobs.filter((job) => job.state === 'running');

// Called with every run status seen, to time what follows a fault (e.g. when the killed agent's jobs are requeued).
const observers = [];

/** Polls status until `ready(run)`; returns the run, or null if the run ended or time ran out first. */
async function waitForRun(runId, ready, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  let last = null;
  while (Date.now() < deadline) {
    const run = await status(runId);
    if (run) {
      last = run;
      for (const observe of observers) observe(run);
      await followAgentLogs();
      if (ready(run)) return run;
      if (run.state !== 'running') return null;
    }
    await sleep(300);
  }
  return last && ready(last) ? last : null;
}

// Every agent container's output, kept in <state>/logs/agents/<name>-<id>.log from the moment it is first seen (a
// killed agent is removed by the coordinator when it replaces it, its replacement has the same name, and `down`
// removes the others).
const agentLogs = new Map();
async function followAgentLogs() {
  let label;
  try {
    label = stack().label;
  } catch {
    return;
  }
  const listed = await exec('docker', [
    'ps',
    '-a',
    '--filter',
    `label=katapult.stack=${label}`,
    '--filter',
    'label=katapult.role=agent',
    '--format',
    '{{.ID}} {{.Names}}',
  ]);
  for (const entry of listed.stdout.trim().split('\n').filter(Boolean)) {
    const [id, name] = entry.split(' ');
    if (agentLogs.has(id)) continue;
    await mkdir(join(home, 'logs', 'agents'), { recursive: true });
    const out = createWriteStream(join(home, 'logs', 'agents', `${name}-${id}.log`));
    const follower = spawn('docker', ['logs', '-f', '-t', id], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    follower.stdout.pipe(out, { end: false });
    follower.stderr.pipe(out, { end: false });
    follower.on('close', () => out.end());
    agentLogs.set(id, { name, follower });
  }
}

/** `launch <config> --detach --json` again: brings back what is missing and finds the run going. */
async function relaunch(file, runId) {
  const result = await katapult(['launch', file, '--detach', '--json']);
  let parsed = null;
  try {
    parsed = JSON.parse(result.stdout);
  } catch {
    // not JSON: an error, reported below
  }
  if (result.code !== 0 || !parsed) note(`launch again FAILED (exit ${result.code}): ${lastLine(result.stderr || result.stdout)}`);
  else if (parsed.runId !== runId || !parsed.resumed) note(`launch again started ANOTHER run ${parsed.runId} (resumed: ${parsed.resumed})`);
  else note(`launch again: run ${runId} resumed (${result.seconds.toFixed(1)} s)`);
  return result;
}

/** Waits for the conditions of the next fault: enough jobs ended since the last one, and a job running. */
async function nextFault(runId, what, mark) {
  const run = await waitForRun(runId, (r) => ended(r) >= mark + JOBS_BETWEEN_FAULTS && running(r).length > 0, FAULT_WAIT_MS);
  if (!run) note(`${what}: SKIPPED (the run ended, or no job was running within ${FAULT_WAIT_MS / 1000} s)`);
  return run;
}

const faults = {
  async agent(runId, run) {
    const victim = running(run)[0].agentId;
    const onIt = run.jobs.filter((job) => job.agentId === victim && !FINAL.has(job.state)).map((job) => job.id);
    const found = await exec('docker', [
      'ps',
      '-q',
      '--filter',
      `label=katapult.stack=${stack().label}`,
      '--filter',
      'label=katapult.role=agent',
      '--filter',
      `label=katapult.agent=${victim}`,
    ]);
    const id = found.stdout.trim().split('\n')[0];
    if (!id) return note(`1. agent kill: SKIPPED (no container for agent ${victim})`);
    const killed = await exec('docker', ['kill', id]);
    note(`1. docker kill agent ${victim} (exit ${killed.code}); its unfinished jobs: ${onIt.join(', ') || 'none'}`);
    // Its jobs stay "running" until the coordinator takes the agent for gone (no heartbeat for a grace period,
    // counted again from each coordinator start and NATS reconnection), then they are requeued as attempt 2.
    const waiting = new Set(onIt);
    observers.push((seen) => {
      for (const job of seen.jobs) {
        if (!waiting.has(job.id) || (job.attempt < 2 && job.agentId === victim && !FINAL.has(job.state))) continue;
        waiting.delete(job.id);
        note(`   ${job.id} (was on the killed agent) now ${job.state}, attempt ${job.attempt}${job.agentId ? ` on ${job.agentId}` : ''}`);
      }
    });
  },
  async coordinator(runId, run, file) {
    const pid = stack().coordinator.pid;
    process.kill(pid, 'SIGKILL');
    note(`2. SIGKILL coordinator (pid ${pid}) with ${running(run).length} jobs running`);
    await sleep(2_000);
    await relaunch(file, runId);
  },
  async nats(runId, run, file) {
    const pid = stack().nats.pid;
    const stoppedAt = Date.now();
    process.kill(pid, 'SIGTERM');
    note(`3. SIGTERM nats-server (pid ${pid}) with ${running(run).length} jobs running`);
    while (isAlive(pid) && Date.now() - stoppedAt < 10_000) await sleep(50);
    await sleep(Math.max(0, NATS_DOWN_MS - (Date.now() - stoppedAt)));
    note(`   nats-server ${isAlive(pid) ? 'STILL ALIVE' : 'gone'} after ${((Date.now() - stoppedAt) / 1000).toFixed(1)} s; launch again`);
    await relaunch(file, runId);
  },
  async interrupt(runId, run, file) {
    const child = spawn(process.execPath, [BIN, 'launch', file], { cwd: REPO_ROOT, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal)));
    const attachedAt = Date.now();
    while (!/is already going|submitted/.test(stdout) && child.exitCode === null && Date.now() - attachedAt < 60_000) await sleep(50);
    if (/submitted/.test(stdout)) note(`4. attached launch SUBMITTED A NEW RUN: ${lastLine(stdout)}`);
    await sleep(1_500); // following the run
    child.kill('SIGINT');
    const code = await exited;
    const detached = stderr.includes(`detached from run ${runId}; it goes on`);
    note(
      `4. SIGINT to an attached launch (following run ${runId}): exit ${code}${detached ? ', "detached ... it goes on"' : `; stderr: ${lastLine(stderr)}`}`,
    );
    const again = await katapult(['status', runId]);
    note(`   katapult status ${runId}: exit ${again.code}, ${lastLine(again.stdout.split('\n')[0] ?? '')}`);
  },
};

/** Runs `task` over `items`, `concurrency` at a time, keeping the order of the results. */
async function pool(items, concurrency, task) {
  const results = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index]);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return results;
}

let problems = 1; // until the figures say otherwise: an error on the way keeps the state folder and its logs
try {
  const file = join(home, 'chaos.yaml');
  const config = [
    'project: chaos',
    'job_assign: multi_knapsack',
    'instances:',
    '  - number: 2',
    '    cpus: 2',
    'environments:',
    '  - name: base',
    'jobs:',
    '  - name: marker',
    '    env_name: base',
    `    run_command: ${JSON.stringify(COMMAND)}`,
    '    cpus_req: 1',
    '    output_files: done.txt',
    `    repeat: ${JOBS}`,
  ];
  await writeFile(file, `${config.join('\n')}\n`);

  console.log(`katapult chaos: ${JOBS} jobs (sleep 1-3 s, write a marker), 2 instances x 2 cpus, local default (state folder ${home})`);
  const launch = await katapult(['launch', file, '--detach', '--json']);
  check('katapult launch --detach', launch);
  const runId = JSON.parse(launch.stdout).runId;
  t0 = Date.now();
  line('launch --detach (builds or finds the images, starts the stack and agents)', `${launch.seconds.toFixed(1)} s`);
  console.log('');
  console.log(`timeline (time since run ${runId} was submitted):`);

  let mark = 0;
  for (const [name, inject] of Object.entries(faults)) {
    const run = await nextFault(runId, name, mark);
    if (!run) continue;
    mark = ended(run);
    note(`   ${mark} jobs ended, ${running(run).length} running`);
    await inject(runId, run, file);
  }

  const final = await waitForRun(runId, (r) => r.state !== 'running', END_WAIT_MS);
  const last = final ?? (await status(runId));
  note(
    final
      ? `run ${runId} ended: ${final.state}`
      : `run ${runId} still ${last?.state ?? 'unreachable'} after ${END_WAIT_MS / 1000} s more: giving up`,
  );
  const endedAt = Date.now();
  if (!last) throw new Error(`status ${runId} does not answer any more`);

  // Each job's log: every "ran <marker>" line is one completion of the job's command.
  const logs = await pool(last.jobs, 4, async (job) => {
    const result = await katapult(['logs', job.id, '--run', runId, '--json']);
    if (result.code !== 0) return { job, error: lastLine(result.stderr) || `exit ${result.code}`, ran: [], notes: [] };
    const { lines } = JSON.parse(result.stdout);
    const ran = lines.map((entry) => RAN.exec(entry.line)?.[1]).filter(Boolean);
    // What Katapult itself wrote into the job's log (e.g. "katapult: the output files could not be stored: ...").
    const notes = lines.filter((entry) => entry.stream === 'stderr' && entry.line.startsWith('katapult:')).map((entry) => entry.line);
    return { job, ran, notes };
  });
  const out = join(home, 'fetched');
  const fetched = await katapult(['fetch', runId, '--out', out, '--json']);
  const markers = new Map();
  for (const job of last.jobs) {
    const text = await readFile(join(out, runId, job.id, 'done.txt'), 'utf8').catch(() => null);
    if (text !== null) markers.set(job.id, text.trim());
  }

  const byState = (state) => last.jobs.filter((job) => job.state === state);
  const done = byState('done');
  const redone = last.jobs.filter((job) => job.attempt > 1);
  const lostAttempts = redone.reduce((sum, job) => sum + job.attempt - 1, 0);
  const twice = logs.filter((entry) => new Set(entry.ran).size > 1);
  const repeatedLines = logs.filter((entry) => entry.ran.length > new Set(entry.ran).size);
  const noCompletion = logs.filter((entry) => entry.job.state === 'done' && entry.ran.length === 0);
  const logErrors = logs.filter((entry) => entry.error);
  const missing = done.filter((job) => !markers.has(job.id));
  const foreign = done.filter(
    (job) => markers.has(job.id) && !logs.find((entry) => entry.job.id === job.id).ran.includes(markers.get(job.id)),
  );
  const unfinished = last.jobs.filter((job) => !FINAL.has(job.state));
  const nonZero = done.filter((job) => job.exitCode !== 0);
  const firstStart = Math.min(...last.jobs.map((job) => job.startedAt ?? Infinity));
  const lastEnd = Math.max(...last.jobs.map((job) => job.finishedAt ?? -Infinity));

  console.log('');
  console.log(`run ${runId}: ${last.state}`);
  line('  jobs', String(last.jobs.length).padStart(6));
  line('  done', `${String(done.length).padStart(6)}${nonZero.length ? `   (${nonZero.length} with a non-zero exit code)` : ''}`);
  line('  failed', String(byState('failed').length).padStart(6));
  line('  aborted', String(byState('aborted').length).padStart(6));
  line(
    '  still unfinished',
    `${String(unfinished.length).padStart(6)}${unfinished.length ? `   (${unfinished.map((job) => `${job.id}: ${job.state}`).join(', ')})` : ''}`,
  );
  line('  lost: jobs not done (failed + aborted + unfinished)', String(last.jobs.length - done.length).padStart(6));
  line(
    '  lost attempts (sum of attempt - 1), requeued and redone',
    `${String(lostAttempts).padStart(6)}   in ${redone.length} jobs${redone.length ? `: ${redone.map((job) => `${job.id} x${job.attempt}`).join(', ')}` : ''}`,
  );
  line(
    '  duplicated: ran to completion more than once (log)',
    `${String(twice.length).padStart(6)}${twice.length ? `   (${twice.map((entry) => `${entry.job.id}: ${entry.ran.length} completions`).join(', ')})` : ''}`,
  );
  line('  log lines repeated (same completion line twice)', String(repeatedLines.length).padStart(6));
  line(
    '  done with no completion line in the log',
    `${String(noCompletion.length).padStart(6)}${noCompletion.length ? `   (${noCompletion.map((entry) => entry.job.id).join(', ')})` : ''}`,
  );
  if (logErrors.length)
    line('  logs that could not be read', `${String(logErrors.length).padStart(6)}   (${logErrors[0].job.id}: ${logErrors[0].error})`);
  line(
    '  outputs fetched (done.txt of a done job)',
    `${String(done.length - missing.length).padStart(6)} / ${done.length}${fetched.code === 0 ? '' : `   (fetch exited ${fetched.code}: ${lastLine(fetched.stderr)})`}`,
  );
  line(
    '  outputs missing',
    `${String(missing.length).padStart(6)}${missing.length ? `   (${missing.map((job) => job.id).join(', ')})` : ''}`,
  );
  for (const job of missing) {
    const entry = logs.find((item) => item.job.id === job.id);
    const finished = job.finishedAt ? `finished at ${since(job.finishedAt).trim()}` : 'not finished';
    console.log(
      `    ${job.id}: ${finished}, ${entry.ran.length ? 'its log shows it completed' : 'no completion in its log'}; ${entry.notes.join('; ') || 'nothing from katapult in its log'}`,
    );
  }
  line(
    '  done.txt not from a completion in the log',
    `${String(foreign.length).padStart(6)}${foreign.length ? `   (${foreign.map((job) => job.id).join(', ')})` : ''}`,
  );
  line('  wall time: submitted -> run over (seen by status)', `${((endedAt - t0) / 1000).toFixed(1).padStart(6)} s`);
  if (Number.isFinite(firstStart) && Number.isFinite(lastEnd))
    line('  of which first job started -> last job finished', `${((lastEnd - firstStart) / 1000).toFixed(1).padStart(6)} s`);
  const leftovers = await exec('docker', [
    'ps',
    '-q',
    '--filter',
    `label=katapult.stack=${stack().label}`,
    '--filter',
    'label=katapult.role=job',
  ]);
  line('  job containers still running at the end', String(leftovers.stdout.trim().split('\n').filter(Boolean).length).padStart(6));

  console.log('');
  console.log('faults:');
  for (const entry of timeline.filter((item) => /^\d\. /.test(item.text))) console.log(`  ${since(entry.at)}  ${entry.text}`);
  problems = unfinished.length + twice.length + missing.length + foreign.length + noCompletion.length + (last.state === 'running' ? 1 : 0);
  problems += timeline.filter((item) => /FAILED|ANOTHER|SUBMITTED|SKIPPED|STILL|giving up/.test(item.text)).length;
} finally {
  // The agents' output goes into <state>/logs/agents/ before `down` removes their containers.
  const down = await katapult(['down']);
  for (const { follower } of agentLogs.values()) if (follower.exitCode === null) follower.kill();
  if (down.code !== 0) console.error(`katapult down exited with ${down.code}: ${down.stderr.trim()}`);
  else if (problems === 0) await rm(home, { recursive: true, force: true }).catch(() => undefined);
  else console.log(`\nsomething was off: the state folder is kept, with the coordinator and agent logs: ${join(home, 'logs')}`);
}
