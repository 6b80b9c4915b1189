// Figures for a job that prints a lot: 1,000,000 lines through Katapult (the real CLI, a private state folder, so
// its own NATS, registry, coordinator and one agent), against `docker run` of the same command in the same image.
// Prints numbers; asserts nothing. Needs Docker, nats-server, docker-registry, and `pnpm build` first.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { BIN, privateStack, REPO_ROOT, sleep } from './cli-runner.mjs';

const LINES = Number(process.env.BENCH_LOG_LINES ?? 1_000_000);
const COMMAND = `seq 1 ${LINES}`;
const RUNS = Number(process.env.BENCH_LOG_RUNS ?? 5);

const { home, env, exec, katapult } = await privateStack('katapult-bench-logs-');
const stack = () => JSON.parse(readFileSync(join(home, 'stack.json'), 'utf8'));

async function config(file, name, command) {
  // An hour's auto_stop, so the agent measured is the same one throughout (the docker run cases can take over a
  // minute). Not `false`: the coordinator's API coerces its null to 0 (stop at once), a bug of its own.
  const lines = [
    'project: benchlogs',
    'auto_stop: 3600',
    'instances:',
    '  - number: 1',
    '    cpus: 1',
    'environments:',
    '  - name: base',
    'jobs:',
  ];
  lines.push(`  - name: ${name}`, '    env_name: base', `    run_command: ${JSON.stringify(command)}`);
  const path = join(home, file);
  await writeFile(path, `${lines.join('\n')}\n`);
  return path;
}

function check(what, result) {
  if (result.code === 0) return;
  throw new Error(`${what} exited with ${result.code}\n${result.stdout.slice(-2000)}\n${result.stderr.slice(-2000)}`);
}

/** Runs a command, counting the lines it prints instead of keeping them; resolves with the count and wall time. */
function countLines(command, args) {
  return new Promise((resolve) => {
    const started = performance.now();
    const child = spawn(command, args, { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let lines = 0;
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines += 1;
    });
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('close', (code) => resolve({ code, lines, stderr, seconds: (performance.now() - started) / 1000 }));
  });
}

/** Resident memory of the agent container's processes, in MiB (its pid and every descendant, from /proc). */
async function agentRssMiB(rootPid) {
  let kib = 0;
  const visit = async (pid) => {
    const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
    kib += Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    const children = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => '');
    for (const child of children.trim().split(/\s+/).filter(Boolean)) await visit(child);
  };
  await visit(rootPid);
  return kib / 1024;
}

async function agentPid() {
  const listed = await exec('docker', [
    'ps',
    '-q',
    '--filter',
    `label=katapult.stack=${stack().label}`,
    '--filter',
    'label=katapult.role=agent',
  ]);
  const id = listed.stdout.trim().split('\n')[0];
  if (!id) throw new Error('no agent container');
  return Number((await exec('docker', ['inspect', '-f', '{{.State.Pid}}', id])).stdout.trim());
}

/** Samples `measure` every 100 ms until stopped; resolves with the samples. */
function sampler(measure) {
  const samples = [];
  let running = true;
  const done = (async () => {
    while (running) {
      samples.push(await measure());
      await sleep(100);
    }
    return samples;
  })();
  return { stop: () => ((running = false), done) };
}

/** A container's own run time (StartedAt to FinishedAt), in seconds. */
async function containerRunSeconds(id) {
  const inspected = JSON.parse((await exec('docker', ['inspect', id])).stdout)[0].State;
  return (Date.parse(inspected.FinishedAt) - Date.parse(inspected.StartedAt)) / 1000;
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor((values.length - 1) / 2)];
const min = (values) => Math.min(...values);
const line = (what, value) => console.log(`${what.padEnd(62)} ${value}`);
const figures = (values, unit, digits = 2) =>
  `min ${min(values).toFixed(digits)} ${unit}, median ${median(values).toFixed(digits)} ${unit}  (${values.map((v) => v.toFixed(digits)).join(', ')})`;

try {
  const flood = await config('flood.yaml', 'flood', COMMAND);
  const nothing = await config('nothing.yaml', 'nothing', 'true');
  console.log(`katapult logs: one job printing ${LINES.toLocaleString('en')} lines (${COMMAND}), 1 instance of 1 cpu, base environment`);
  console.log(
    `load average at start: ${loadavg()
      .map((value) => value.toFixed(2))
      .join(' ')}; ${RUNS} runs of each`,
  );
  check('warm-up launch', await katapult(['launch', nothing]));
  const image = JSON.parse((await katapult(['images', 'ls', '--json'])).stdout)[0].ref;

  const docker = { wall: [], ran: [], ranNoLog: [] };
  for (let run = 0; run < RUNS; run++) {
    const counted = await countLines('docker', ['run', '--rm', image, '/bin/sh', '-c', COMMAND]);
    if (counted.lines !== LINES) throw new Error(`docker run printed ${counted.lines} lines: ${counted.stderr}`);
    docker.wall.push(counted.seconds);
    // Detached, so the container's own run time is known without the client copying its output.
    const id = (await exec('docker', ['run', '-d', image, '/bin/sh', '-c', COMMAND])).stdout.trim();
    await exec('docker', ['wait', id]);
    docker.ran.push(await containerRunSeconds(id));
    await exec('docker', ['rm', id]);
    // As Katapult runs a job's container: Docker keeps no log of its own (the agent reads the attach stream).
    const quiet = (await exec('docker', ['run', '-d', '--log-driver', 'none', image, '/bin/sh', '-c', COMMAND])).stdout.trim();
    await exec('docker', ['wait', quiet]);
    docker.ranNoLog.push(await containerRunSeconds(quiet));
    await exec('docker', ['rm', quiet]);
  }

  const kp = { launch: [], empty: [], recorded: [], replay: [], rssPeak: [] };
  const rssIdle = await agentRssMiB(await agentPid());
  for (let run = 0; run < RUNS; run++) {
    kp.empty.push((await katapult(['launch', nothing, '--wait'])).seconds);
    const pid = await agentPid();
    const rss = sampler(() => agentRssMiB(pid));
    const launched = await katapult(['launch', flood, '--wait', '--json']);
    kp.rssPeak.push(Math.max(...(await rss.stop())));
    check(`katapult launch (${LINES} lines)`, launched);
    kp.launch.push(launched.seconds);
    const view = JSON.parse((await katapult(['status', '--json'])).stdout)[0];
    const job = view.jobs.find((entry) => entry.id === 'flood');
    kp.recorded.push((job.finishedAt - job.startedAt) / 1000);
    const replayed = await countLines(process.execPath, [BIN, 'logs', 'flood', '--run', view.id]);
    if (replayed.lines !== LINES) throw new Error(`katapult logs gave ${replayed.lines} lines: ${replayed.stderr}`);
    kp.replay.push(replayed.seconds);
  }
  // The log's share of a launch: the launch of the job, less a launch of a job printing nothing.
  const shipped = kp.launch.map((seconds, index) => seconds - kp.empty[index]);

  console.log('');
  line('docker run --rm (client copies stdout to this script)', figures(docker.wall, 's'));
  line("docker run -d: the container's run time", figures(docker.ran, 's'));
  line("docker run -d --log-driver none: the container's run time", figures(docker.ranNoLog, 's'));
  line("katapult: the job's recorded duration (startedAt -> finishedAt)", figures(kp.recorded, 's'));
  line('katapult launch --wait, whole (CLI, submit, run, log stored)', figures(kp.launch, 's'));
  line('katapult launch --wait of a job printing nothing', figures(kp.empty, 's'));
  line("  difference: the log's share (each pair)", figures(shipped, 's'));
  line(
    '  difference of the medians, of the minimums',
    `${(median(kp.launch) - median(kp.empty)).toFixed(2)} s, ${(min(kp.launch) - min(kp.empty)).toFixed(2)} s`,
  );
  line(
    '  lines/s through Katapult (lines / difference)',
    figures(
      shipped.map((s) => LINES / s / 1000),
      'k lines/s',
      0,
    ),
  );
  line(
    '  lines/s docker run --rm',
    figures(
      docker.wall.map((s) => LINES / s / 1000),
      'k lines/s',
      0,
    ),
  );
  line('ratio launch --wait whole / docker run --rm wall (medians)', (median(kp.launch) / median(docker.wall)).toFixed(2));
  line("ratio log's share / docker run --rm wall (medians)", (median(shipped) / median(docker.wall)).toFixed(2));
  line('ratio recorded duration / docker run -d run time (medians)', (median(kp.recorded) / median(docker.ran)).toFixed(2));
  line('ratio recorded duration / docker run -d --log-driver none (medians)', (median(kp.recorded) / median(docker.ranNoLog)).toFixed(2));
  line('katapult logs (replay of every line, to a pipe)', figures(kp.replay, 's'));
  line(
    'agent RSS: idle before, peak during each launch',
    `${rssIdle.toFixed(0)} MiB; ${kp.rssPeak.map((v) => `${v.toFixed(0)} MiB`).join(', ')}`,
  );
  console.log(
    `load average at end: ${loadavg()
      .map((value) => value.toFixed(2))
      .join(' ')}`,
  );
} finally {
  const down = await katapult(['down']);
  if (down.code !== 0) console.error(`katapult down exited with ${down.code}: ${down.stderr.trim()}`);
  else await rm(home, { recursive: true, force: true }).catch(() => undefined);
}
