// Lint: the package boundaries of docs/ARCHITECTURE.md, and promises nobody awaits. Formatting is Prettier's.
import tseslint from 'typescript-eslint';

const NODE_BUILTINS = [
  'node:*',
  'fs',
  'fs/*',
  'path',
  'child_process',
  'net',
  'http',
  'https',
  'os',
  'crypto',
  'stream',
  'stream/*',
  'url',
  'util',
  'events',
];

/** `no-restricted-imports` with the given package patterns, each with why. */
const forbid = (...groups) => ({
  'no-restricted-imports': ['error', { patterns: groups.map(([group, message]) => ({ group, message })) }],
});

const NO_CLI = [['@katapult/cli', '@katapult/cli/*'], 'nothing imports the CLI: its commands are a front-end over @katapult/launcher'];

export default tseslint.config(
  {
    ignores: [
      '**/dist/**',
      '**/node_modules/**',
      '**/*.js',
      '**/*.mjs',
      'coordinator/src/http/dashboard/**',
      'test-results/**',
      '*.config.ts',
    ],
  },
  {
    files: ['**/*.ts'],
    languageOptions: {
      parser: tseslint.parser,
      // One program for the whole workspace (tsconfig.eslint.json): one per package parsed each shared file again.
      parserOptions: { project: ['tsconfig.eslint.json'], tsconfigRootDir: import.meta.dirname },
    },
    plugins: { '@typescript-eslint': tseslint.plugin },
    rules: {
      // Promises: none left unawaited, none where a callback's result is ignored, no await of a non-promise.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      // Errors are Errors, so their stack and `code` survive.
      '@typescript-eslint/only-throw-error': 'error',
      '@typescript-eslint/prefer-promise-reject-errors': 'error',
      // Types say what is true: no `any`, no cast that changes nothing, every case of a union handled.
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unnecessary-type-assertion': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      '@typescript-eslint/no-unused-vars': ['error', { varsIgnorePattern: '^_', argsIgnorePattern: '^_', ignoreRestSiblings: true }],
      eqeqeq: ['error', 'smart'],
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      'no-var': 'error',
      ...forbid(NO_CLI),
    },
  },
  {
    files: ['core/src/**/*.ts'],
    rules: forbid(
      NO_CLI,
      [NODE_BUILTINS, 'core is pure: I/O belongs to the packages at the edges'],
      [
        ['dockerode', '@nats-io/*', '@aws-sdk/*', 'fastify', '@fastify/*', 'pino'],
        'core is pure: it names no Docker, NATS, AWS or HTTP library',
      ],
      [['@katapult/*', '!@katapult/core'], 'core depends on no other package'],
    ),
  },
  {
    // AES-GCM and HKDF are computation, not I/O; Node's audited implementation beats any written here.
    files: ['core/src/model/secrets.ts'],
    rules: forbid(
      NO_CLI,
      [NODE_BUILTINS.filter((name) => name !== 'node:*'), 'core is pure: I/O belongs to the packages at the edges'],
      [['node:*', '!node:crypto'], 'core is pure: only the ciphers of node:crypto are used here'],
      [
        ['dockerode', '@nats-io/*', '@aws-sdk/*', 'fastify', '@fastify/*', 'pino'],
        'core is pure: it names no Docker, NATS, AWS or HTTP library',
      ],
      [['@katapult/*', '!@katapult/core'], 'core depends on no other package'],
    ),
  },
  {
    files: ['logging/src/**/*.ts'],
    rules: forbid(NO_CLI, [
      ['@katapult/*', '!@katapult/core'],
      'logging is the process log the coordinator and the agent share: it depends on core alone',
    ]),
  },
  {
    files: ['coordinator/src/**/*.ts'],
    rules: forbid(
      NO_CLI,
      [['@katapult/agent', '@katapult/agent/*'], 'the coordinator and the agent meet only over NATS'],
      [['@katapult/launcher', '@katapult/launcher/*'], 'the coordinator does not use the operator-side launcher'],
    ),
  },
  {
    files: ['agent/src/**/*.ts'],
    rules: forbid(
      NO_CLI,
      [['@katapult/coordinator', '@katapult/coordinator/*'], 'the coordinator and the agent meet only over NATS'],
      [['@katapult/launcher', '@katapult/launcher/*'], 'the agent runs on instances: no launcher there'],
    ),
  },
  {
    files: ['launcher/src/**/*.ts'],
    rules: forbid(NO_CLI, [
      ['@katapult/coordinator', '@katapult/coordinator/*'],
      'the launcher starts the coordinator as a process and speaks to it over HTTP and NATS; shared code lives in core or aws',
    ]),
  },
);
