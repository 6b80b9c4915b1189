// Figures for `katapult build` (issue #3): an unchanged build of three environments, and a pip-only change
// against a full rebuild. Prints numbers; asserts nothing. Needs Docker, docker-registry and python3.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import Docker from 'dockerode';
import { buildEnvironment, ensureBaseImage, OciRegistry } from '@katapult/images';
import { environmentSpec, startRegistry, startWheelIndex, tempDir } from '@katapult/testkit';

const docker = new Docker();
const registry = await startRegistry();
const index = await startWheelIndex({ name: 'kpdemo', version: '1.0.0', source: 'def hello():\n    return "hi"\n' });
const base = await ensureBaseImage(docker);
const projectDir = await tempDir('bench-build');
const logDir = await tempDir('bench-logs');
await writeFile(join(projectDir, 'requirements.txt'), 'kpdemo==1.0.0\n');

const env = (name, patch) => environmentSpec({ name, ...patch });
const environments = [
  env('tools', { aptget: ['jq'] }),
  env('python', { aptget: ['jq'], pypi: ['requirements.txt'] }),
  env('setup', { command: 'echo ready > /opt/ready' }),
];
const build = (spec, options = {}) =>
  buildEnvironment(docker, {
    env: spec,
    projectDir,
    base,
    registry: new OciRegistry(registry.host),
    buildArgs: { PIP_INDEX_URL: index.url },
    networkMode: 'host',
    logDir,
    ...options,
  });
const time = async (what, work) => {
  const started = performance.now();
  const result = await work();
  const seconds = (performance.now() - started) / 1000;
  console.log(`${what.padEnd(58)} ${seconds.toFixed(2).padStart(8)} s`);
  return { seconds, result };
};

try {
  console.log('katapult build: three environments (apt, apt+pip, setup command)');
  await time('first build (Docker layer cache as found)', async () => {
    for (const e of environments) await build(e);
  });
  const unchanged = await time('unchanged build (all three found in the registry)', async () => {
    const results = [];
    for (const e of environments) results.push(await build(e));
    return results;
  });
  console.log(`  images built by the unchanged build: ${unchanged.result.filter((r) => r.built).length}`);

  await writeFile(join(projectDir, 'requirements.txt'), 'kpdemo==1.0.0\n# a changed requirements file\n');
  const pipOnly = await time('pip-only change (apt layer from cache, pip layer rebuilt)', () => build(environments[1]));
  await writeFile(join(projectDir, 'requirements.txt'), 'kpdemo==1.0.0\n# changed again, built with no cache\n');
  const full = await time('the same environment rebuilt in full (no cache)', () => build(environments[1], { noCache: true }));
  console.log(`  pip-only change / full rebuild: ${(pipOnly.seconds / full.seconds).toFixed(2)}`);
} finally {
  await index.stop();
  await registry.stop();
}
