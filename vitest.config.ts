import { configDefaults, defineConfig } from 'vitest/config';

// Pure tests (no server, no Docker) run side by side; the rest, which share this machine's Docker engine and its
// CPU, one file at a time after them.
const PURE = ['core/test/**/*.test.ts', 'cli/test/**/*.test.ts', 'launcher/test/**/*.test.ts', 'coordinator/test/loops.test.ts'];

// Tests run against each package's TypeScript source through the "katapult-source" export condition,
// except the end-to-end suites, which drive the built CLI as a user would.
export default defineConfig({
  resolve: { conditions: ['katapult-source'] },
  test: {
    testTimeout: 30_000,
    hookTimeout: 600_000,
    // @katapult/client's end-to-end test imports the built package as a script would; Node loads it, so its
    // import.meta.resolve (finding the coordinator to spawn) works as it does outside vitest.
    server: { deps: { external: [/\/client\/dist\//] } },
    // Under CI a JSON report is written too, from which .ci/run prints its closing "N passed, N failed" line.
    reporters: process.env['CI'] ? ['default', ['json', { outputFile: 'test-results/vitest.json' }]] : ['default'],
    projects: [
      { extends: true, test: { name: 'pure', include: PURE, fileParallelism: true, sequence: { groupOrder: 0 } } },
      {
        extends: true,
        test: {
          name: 'system',
          include: ['*/test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, ...PURE],
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
