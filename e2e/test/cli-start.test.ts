import { execFile } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '@katapult/testkit';
import { REPO_ROOT } from './cli.js';

const BIN = join(REPO_ROOT, 'cli', 'bin', 'run.js');

// What a command that only reads the state folder or asks the coordinator has no use for: the schemas and the
// YAML parser, Docker, AWS, NATS, the image builder, the coordinator. Each costs tens of ms at every start.
const HEAVY = [
  'typebox',
  'yaml',
  'dockerode',
  '@aws-sdk/',
  '@nats-io/',
  'undici',
  'tar-stream',
  '@katapult/images',
  '@katapult/coordinator',
  '@katapult/aws',
  '@katapult/object-files',
];

/**
 * The quick commands start in a blink because they load only what they use (speed itself is bench/cli-start.mjs's,
 * not a test's). Every module the CLI imports is recorded by a resolve hook registered before it starts.
 */
describe('what a quick command loads', () => {
  let dir: string;
  let hooks: string;

  beforeAll(async () => {
    dir = await tempDir('e2e-cli-start');
    hooks = join(dir, 'record-imports.mjs');
    await writeFile(
      hooks,
      [
        "import { appendFileSync } from 'node:fs';",
        "import { register } from 'node:module';",
        "if (!process.env.KP_IMPORTS_HOOKED) { process.env.KP_IMPORTS_HOOKED = '1'; register(import.meta.url); }",
        'export async function resolve(specifier, context, next) {',
        "  appendFileSync(process.env.KP_IMPORTS_LOG, specifier + '\\n');",
        '  return next(specifier, context);',
        '}',
        '',
      ].join('\n'),
    );
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function importsOf(args: string[]): Promise<string[]> {
    const log = join(dir, `${args.join('_')}.log`);
    await writeFile(log, '');
    const env = { ...process.env, KATAPULT_HOME: join(dir, 'no-stack'), KP_IMPORTS_LOG: log };
    await new Promise<void>((resolve) =>
      execFile(process.execPath, ['--import', pathToFileURL(hooks).href, BIN, ...args], { cwd: REPO_ROOT, env }, () => resolve()),
    );
    return (await readFile(log, 'utf8')).split('\n').filter(Boolean);
  }

  it.each([[['--version']], [['status']], [['status', '--json']], [['cancel', '--help']]])(
    'katapult %j imports none of the heavy modules',
    async (args) => {
      const imports = await importsOf(args);
      expect(imports).toContain(pathToFileURL(BIN).href);
      expect(imports.filter((specifier) => HEAVY.some((heavy) => specifier === heavy || specifier.startsWith(heavy)))).toEqual([]);
    },
  );

  it('the status command is loaded on its own, not with every other command', async () => {
    const commands = (await importsOf(['status'])).filter((specifier) => specifier.includes('/dist/commands/'));
    expect(commands.map((specifier) => specifier.replace(/.*\/dist\/commands\//, ''))).toEqual(['status.js']);
  });
});
