import { defineConfig } from 'vitest/config';

// Tests run against each package's TypeScript source through the "katapult-source" export condition,
// except the end-to-end suites, which drive the built CLI as a user would.
export default defineConfig({
  resolve: { conditions: ['katapult-source'] },
  test: {
    include: ['*/test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 600_000,
    fileParallelism: false,
    // @katapult/client's end-to-end test imports the built package as a script would; Node loads it, so its
    // import.meta.resolve (finding the coordinator to spawn) works as it does outside vitest.
    server: { deps: { external: [/\/client\/dist\//] } },
    // Under CI a JSON report is written too, from which .ci/run prints its closing "N passed, N failed" line.
    reporters: process.env['CI'] ? ['default', ['json', { outputFile: 'test-results/vitest.json' }]] : ['default'],
  },
});
