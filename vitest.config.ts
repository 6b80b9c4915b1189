import { configDefaults, defineConfig } from 'vitest/config';

// Pure tests (no server, no Docker) run first; the rest, which share this machine's Docker engine, after them.
const PURE = ['core/test/**/*.test.ts', 'cli/test/**/*.test.ts', 'launcher/test/**/*.test.ts', 'coordinator/test/loops.test.ts'];

// Vitest sizes its one pool of forks from the root `maxWorkers` (default: CPUs - 1, which is 1 on a 2-core box);
// a project's own fileParallelism or maxWorkers does not change it. Two at a time: every system file makes its
// own state folder, ports, stack label and registry (testkit), so two never touch each other's containers, and
// a Docker-bound file mostly waits on the engine, which leaves a core for the other.
const WORKERS = 2;

const SYSTEM_TEST_TIMEOUT_MS = 300_000;

// Files that load the machine by themselves run last, with nothing beside them: 20 CLI processes launching at once
// (one of them met a NATS timeout in CI while another file ran beside it).
const ALONE = ['e2e/test/concurrent.test.ts'];

// Tests run against each package's TypeScript source through the "katapult-source" export condition,
// except the end-to-end suites, which drive the built CLI as a user would.
export default defineConfig({
  resolve: { conditions: ['katapult-source'] },
  test: {
    testTimeout: 30_000,
    hookTimeout: 600_000,
    maxWorkers: WORKERS,
    minWorkers: 1,
    // @katapult/client's end-to-end test imports the built package as a script would; Node loads it, so its
    // import.meta.resolve (finding the coordinator to spawn) works as it does outside vitest.
    server: { deps: { external: [/\/client\/dist\//] } },
    // Under CI a JSON report is written too, from which .ci/run prints its closing "N passed, N failed" line.
    reporters: process.env['CI'] ? ['default', ['json', { outputFile: 'test-results/vitest.json' }]] : ['default'],
    projects: [
      { extends: true, test: { name: 'pure', include: PURE, sequence: { groupOrder: 0 } } },
      {
        extends: true,
        test: {
          name: 'system',
          include: ['*/test/**/*.test.ts'],
          // A test here starts servers and containers on a shared, often loaded machine: a launch that takes
          // 10 s when the box is idle can take a minute beside other work. They wait for events, not for time.
          testTimeout: SYSTEM_TEST_TIMEOUT_MS,
          exclude: [...configDefaults.exclude, ...PURE, ...ALONE],
          sequence: { groupOrder: 1 },
        },
      },
      {
        extends: true,
        test: { name: 'alone', include: ALONE, testTimeout: SYSTEM_TEST_TIMEOUT_MS, sequence: { groupOrder: 2 } },
      },
    ],
  },
});
