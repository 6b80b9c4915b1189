// Big files through Katapult against `docker cp`: a job whose input is a SIZE_MB file of random bytes copies it
// to its output, on the local default, through the real CLI with a private state folder. Printed: the wall time
// of `katapult launch` (upload, staging, the job, storing its output) and of `katapult fetch`, min and median of
// ROUNDS; `docker cp` of the same file into and out of a container; their ratios; and the peak
// RSS of the CLI (launch, fetch), of the agent and of nats-server during each, beside their RSS before. Each round
// uses a new file, so nothing is found already stored; each is followed by its `docker cp`s, so a ratio per round
// compares the two under the same load. Prints numbers; asserts nothing. Needs Docker,
// nats-server, docker-registry, root (peak RSS of the servers is reset through /proc/<pid>/clear_refs), and
// `pnpm build` first.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { BIN, privateStack } from './cli-runner.mjs';

const SIZE_MB = Number(process.env['BENCH_FILE_MB'] ?? 200);
const ROUNDS = Number(process.env['BENCH_FILE_ROUNDS'] ?? 3);

const { home, exec, katapult } = await privateStack('katapult-bench-files-');
const project = join(home, 'project');
const big = join(project, 'data', 'big.bin');

/** Writes SIZE_MB of fresh random bytes, a MiB at a time (never the whole file in memory). */
async function writeRandomFile(path) {
  const out = createWriteStream(path);
  for (let i = 0; i < SIZE_MB; i++) if (!out.write(randomBytes(1 << 20))) await once(out, 'drain');
  out.end();
  await once(out, 'finish');
}

async function sha256(path) {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk);
  return hash.digest('hex');
}

function check(what, result) {
  if (result.code === 0) return result;
  throw new Error(`${what} exited with ${result.code}\n${result.stdout.slice(-2000)}\n${result.stderr.slice(-2000)}`);
}

/** A CLI command under /usr/bin/time: its wall time, and its peak RSS in bytes (the last line time prints). */
async function timedCli(args) {
  const result = check(
    `katapult ${args.join(' ')}`,
    await exec('/usr/bin/time', ['-f', 'KP_MAXRSS_KB %M', process.execPath, BIN, ...args]),
  );
  const kb = Number(/KP_MAXRSS_KB (\d+)/.exec(result.stderr)?.[1]);
  return { seconds: result.seconds, rss: kb * 1024, stdout: result.stdout };
}

/** Resident and peak resident bytes of a process; resetPeak makes the peak start again from now. */
async function memoryOf(pid) {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const field = (name) => Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(status)?.[1]) * 1024;
  return { rss: field('VmRSS'), peak: field('VmHWM') };
}
const resetPeak = (pid) => writeFile(`/proc/${pid}/clear_refs`, '5');

async function agentPid() {
  const ps = check(
    'docker ps',
    await exec('docker', ['ps', '-q', '--filter', 'label=katapult.role=agent', '--filter', `label=katapult.stack`]),
  );
  const ids = ps.stdout.trim().split('\n').filter(Boolean);
  for (const id of ids) {
    const inspect = check(
      'docker inspect',
      await exec('docker', ['inspect', '-f', '{{.State.Pid}} {{index .Config.Labels "katapult.stack"}}', id]),
    );
    const [pid, label] = inspect.stdout.trim().split(' ');
    const stack = JSON.parse(await readFile(join(home, 'stack.json'), 'utf8'));
    if (label === stack.label) return Number(pid);
  }
  throw new Error('no agent container of this stack is running');
}

/** Peak RSS of the servers over `work`, their RSS just before, and what work resolves with. */
async function watchServers(work) {
  const stack = JSON.parse(await readFile(join(home, 'stack.json'), 'utf8'));
  const pids = { agent: await agentPid(), nats: stack.nats.pid };
  const before = {};
  for (const [name, pid] of Object.entries(pids)) {
    await resetPeak(pid);
    before[name] = await memoryOf(pid);
  }
  const result = await work();
  const after = {};
  for (const [name, pid] of Object.entries(pids)) after[name] = await memoryOf(pid);
  return { result, before, after };
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length % 2 ? sorted[(sorted.length - 1) / 2] : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
};
const mb = (bytes) => `${(bytes / 1e6).toFixed(0)} MB`;
const s = (seconds) => `${seconds.toFixed(2)} s`;
const line = (what, value) => console.log(`${what.padEnd(44)} ${value}`);
const spread = (values, format) => `min ${format(Math.min(...values))}  median ${format(median(values))}`;
const load = () =>
  loadavg()
    .map((value) => value.toFixed(2))
    .join(' ');

try {
  await mkdir(join(project, 'data'), { recursive: true });
  const config = join(project, 'katapult.yaml');
  const lines = [
    'project: bench',
    'instances:',
    '  - number: 1',
    '    cpus: 1',
    'environments:',
    '  - name: base',
    'jobs:',
    '  - name: copy',
    '    env_name: base',
    '    run_command: mkdir -p out && cp data/big.bin out/big.bin',
    '    input_files: data/big.bin',
    '    output_files: out/big.bin',
  ];
  await writeFile(config, `${lines.join('\n')}\n`);
  console.log(`files: a ${SIZE_MB} MB input copied to a ${SIZE_MB} MB output, ${ROUNDS} rounds (load average ${load()})`);
  await writeFile(big, 'warm-up\n');
  const warm = check('warm-up launch', await katapult(['launch', config]));
  line('warm-up launch (images, stack, agent)', s(warm.seconds));
  // What the CLI takes whatever the file: launch and fetch of an 8-byte one, the stack up.
  const small = await timedCli(['launch', config]);
  const smallFetch = await timedCli(['fetch', '--out', join(home, 'out-small')]);
  line('launch with an 8-byte file, the stack up', s(small.seconds));
  line('CLI peak RSS with an 8-byte file: launch, fetch', `${mb(small.rss)}, ${mb(smallFetch.rss)}`);

  const image = JSON.parse(await readFile(join(home, 'stack.json'), 'utf8')).coordinator.agentImage;
  const rounds = [];
  const cpIn = [];
  const cpOut = [];
  for (let round = 0; round < ROUNDS; round++) {
    await writeRandomFile(big);
    const expected = await sha256(big);
    const launchedAt = Date.now();
    const launch = await watchServers(() => timedCli(['launch', config]));
    const out = join(home, `out-${round}`);
    const fetch = await watchServers(() => timedCli(['fetch', '--out', out]));
    const runId = /run (r-[\w-]+)/.exec(launch.result.stdout)?.[1];
    const fetched = join(out, runId ?? '', 'copy', 'out', 'big.bin');
    const same = (await sha256(fetched).catch(() => 'missing')) === expected;
    await rm(out, { recursive: true, force: true });
    const [job] = JSON.parse(check('status', await katapult(['status', '--json'])).stdout)[0].jobs;
    const phases = {
      submit: (job.createdAt - launchedAt) / 1000,
      stage: (job.startedAt - job.createdAt) / 1000,
      runAndStore: (job.finishedAt - job.startedAt) / 1000,
    };
    // The same file by hand, right after (the machine is shared: its load changes from minute to minute): into a
    // stopped container (of the agent's image, which this Docker has), and back out.
    const created = check('docker create', await exec('docker', ['create', image, 'true']));
    const id = created.stdout.trim();
    try {
      cpIn.push(check('docker cp in', await exec('docker', ['cp', big, `${id}:/tmp/big.bin`])).seconds);
      cpOut.push(check('docker cp out', await exec('docker', ['cp', `${id}:/tmp/big.bin`, join(home, 'cp-out.bin')])).seconds);
    } finally {
      await exec('docker', ['rm', '-f', id]);
      await rm(join(home, 'cp-out.bin'), { force: true });
    }
    rounds.push({ launch, fetch, same, phases, load: loadavg()[0] });
  }

  const launches = rounds.map((r) => r.launch.result.seconds);
  const fetches = rounds.map((r) => r.fetch.result.seconds);
  line('fetched byte for byte (sha256)', `${rounds.filter((r) => r.same).length} of ${ROUNDS}`);
  line('katapult launch (up, staged, run, stored)', spread(launches, s));
  line(
    '  CLI start, upload, submit',
    spread(
      rounds.map((r) => r.phases.submit),
      s,
    ),
  );
  line(
    '  job created -> running (download, stage)',
    spread(
      rounds.map((r) => r.phases.stage),
      s,
    ),
  );
  line(
    '  running -> done (cp, outputs stored)',
    spread(
      rounds.map((r) => r.phases.runAndStore),
      s,
    ),
  );
  line('katapult fetch', spread(fetches, s));
  line('docker cp in', spread(cpIn, s));
  line('docker cp out', spread(cpOut, s));
  line('launch / (docker cp in + out), medians', `${(median(launches) / (median(cpIn) + median(cpOut))).toFixed(2)}x`);
  line('  less the 8-byte launch', `${((median(launches) - small.seconds) / (median(cpIn) + median(cpOut))).toFixed(2)}x`);
  line('fetch / docker cp out, medians', `${(median(fetches) / median(cpOut)).toFixed(2)}x`);
  const ratio = (value) => `${value.toFixed(2)}x`;
  line(
    'per round, launch / (its docker cp in + out)',
    spread(
      rounds.map((r, i) => r.launch.result.seconds / (cpIn[i] + cpOut[i])),
      ratio,
    ),
  );
  line(
    '  less the 8-byte launch',
    spread(
      rounds.map((r, i) => (r.launch.result.seconds - small.seconds) / (cpIn[i] + cpOut[i])),
      ratio,
    ),
  );
  line(
    'per round, fetch / its docker cp out',
    spread(
      rounds.map((r, i) => r.fetch.result.seconds / cpOut[i]),
      ratio,
    ),
  );
  line('1-minute load average after each round', rounds.map((r) => r.load.toFixed(1)).join(' '));
  line(
    'CLI peak RSS: launch',
    spread(
      rounds.map((r) => r.launch.result.rss),
      mb,
    ),
  );
  line(
    'CLI peak RSS: fetch',
    spread(
      rounds.map((r) => r.fetch.result.rss),
      mb,
    ),
  );
  for (const server of ['agent', 'nats']) {
    for (const step of ['launch', 'fetch']) {
      const before = rounds.map((r) => r[step].before[server].rss);
      const peak = rounds.map((r) => r[step].after[server].peak);
      line(`${server === 'nats' ? 'nats-server' : 'agent'} RSS during ${step}: before, peak`, `${mb(median(before))}, ${spread(peak, mb)}`);
    }
  }
  console.log(`load average at the end ${load()}`);
} finally {
  const down = await katapult(['down']);
  if (down.code !== 0) console.error(`katapult down exited with ${down.code}: ${down.stderr.trim()}`);
  await rm(home, { recursive: true, force: true });
}
