import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** docker's stub: a pull fails when PULL_FAILS is set, a run prints a container id. */
export const DOCKER_STUB = 'case "$1" in pull) [ -n "$PULL_FAILS" ] && exit 1;; run) echo 0123abcd;; esac';

/** apt-get's line that, installing docker.io, puts docker's stub on PATH, as apt would put docker there. */
export function installsDocker(bin: string): string {
  return `case "$*" in *docker.io*) printf '%s\\n' '#!/bin/sh' 'echo "docker $*" >>"$CALLS"' '${DOCKER_STUB.replace(/'/g, `'\\''`)}' 'exit 0' >"${bin}/docker"; /bin/chmod 755 "${bin}/docker";; esac`;
}

export interface SandboxRun {
  run: SpawnSyncReturns<string>;
  /** Each stub's call, `name args…`, in order. */
  calls: string[];
  /** What KATAPULT_BOOT_ROOT pointed at: every file the script wrote is under it. */
  root: string;
}

/**
 * A boot script run for real by bash, as root would at boot, but in `dir`: each command named in `stubs` is a
 * stub on PATH recording its arguments (with `bodies(bin)[name]` as what it does), only `realTools` are the
 * real ones (so a missing docker is really missing), and KATAPULT_BOOT_ROOT moves every file written under `dir`.
 */
export function runInSandbox(
  dir: string,
  script: string,
  options: { realTools: string[]; stubs: string[]; bodies: (bin: string) => Record<string, string>; env?: Record<string, string> },
): SandboxRun {
  const bin = join(dir, 'bin');
  const tools = join(dir, 'tools');
  const root = join(dir, 'root');
  for (const folder of [bin, tools, root]) mkdirSync(folder);
  for (const tool of options.realTools) symlinkSync(spawnSync('which', [tool], { encoding: 'utf8' }).stdout.trim(), join(tools, tool));
  const bodies = options.bodies(bin);
  for (const name of options.stubs) {
    writeFileSync(join(bin, name), `#!/bin/sh\necho "${name} $*" >>"$CALLS"\n${bodies[name] ?? ''}\nexit 0\n`);
    chmodSync(join(bin, name), 0o755);
  }
  const file = join(dir, 'user-data.sh');
  writeFileSync(file, script);
  const run = spawnSync('/bin/bash', [file], {
    encoding: 'utf8',
    env: { PATH: `${bin}:${tools}`, CALLS: join(dir, 'calls'), KATAPULT_BOOT_ROOT: root, HOME: dir, ...options.env },
  });
  const calls = existsSync(join(dir, 'calls')) ? readFileSync(join(dir, 'calls'), 'utf8').trim().split('\n') : [];
  return { run, calls, root };
}
