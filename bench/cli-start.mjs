// How long a CLI command takes to start, against Node itself (`node -e 0`): `katapult --version`, and `katapult
// status` with no stack (it reads the state folder and says so) and with one running (one HTTP call to the
// coordinator). Each is run RUNS times after WARMUP untimed runs; min and median wall time are printed, and their
// ratios to Node's. Prints numbers; asserts nothing. Needs `pnpm build`; the stack part needs Docker,
// nats-server and docker-registry, and is skipped with --no-stack.
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BIN, privateStack, REPO_ROOT } from './cli-runner.mjs';

const RUNS = 20;
const WARMUP = 2;

const { home, env, katapult } = await privateStack('katapult-bench-start-');

/** Wall time of `command` in seconds, RUNS times; the exit code does not matter (status with no stack exits 3). */
function timings(args) {
  const once = () => {
    const started = performance.now();
    const result = spawnSync(process.execPath, args, { cwd: REPO_ROOT, env, stdio: 'ignore' });
    if (result.error) throw result.error;
    return (performance.now() - started) / 1000;
  };
  for (let i = 0; i < WARMUP; i++) once();
  return Array.from({ length: RUNS }, once).sort((a, b) => a - b);
}

const median = (sorted) =>
  sorted.length % 2 ? sorted[(sorted.length - 1) / 2] : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
const ms = (seconds) => `${(seconds * 1000).toFixed(0)} ms`.padStart(7);
const load = () =>
  loadavg()
    .map((value) => value.toFixed(2))
    .join(' ');

let node;
function report(label, sorted) {
  // Both ratios: on a busy machine the medians wander, the minimums (each run's best case) much less.
  const ratio =
    node && sorted !== node ? `  ${(median(sorted) / median(node)).toFixed(2)}x node (min ${(sorted[0] / node[0]).toFixed(2)}x)` : '';
  console.log(`${label.padEnd(40)} min ${ms(sorted[0])}  median ${ms(median(sorted))}${ratio}`);
}

console.log(`CLI start, ${RUNS} runs each (load average ${load()})`);
node = timings(['-e', '0']);
report('node -e 0', node);
report('katapult --version', timings([BIN, '--version']));
report('katapult status (no stack)', timings([BIN, 'status']));

if (!process.argv.includes('--no-stack')) {
  const config = join(home, 'tiny.yaml');
  const lines = [
    'project: bench',
    'instances:',
    '  - number: 1',
    '    cpus: 1',
    'environments:',
    '  - name: base',
    'jobs:',
    '  - name: tiny',
    '    env_name: base',
    '    run_command: "true"',
  ];
  await writeFile(config, `${lines.join('\n')}\n`);
  try {
    const launch = await katapult(['launch', config]);
    if (launch.code !== 0) throw new Error(`katapult launch exited with ${launch.code}\n${launch.stderr.slice(-2000)}`);
    report('katapult status (a stack running)', timings([BIN, 'status']));
    report('katapult status --json (a stack running)', timings([BIN, 'status', '--json']));
  } finally {
    const down = await katapult(['down']);
    if (down.code !== 0) console.error(`katapult down exited with ${down.code}: ${down.stderr.trim()}`);
  }
}
await rm(home, { recursive: true, force: true });
console.log(`load average at the end ${load()}`);
