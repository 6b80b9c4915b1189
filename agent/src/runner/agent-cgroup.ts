import { readFileSync } from 'node:fs';
import type Docker from 'dockerode';

/**
 * The cgroup of this process's pids controller, from /proc/self/cgroup (`8:pids:/docker/<id>` on cgroup v1,
 * `0::/…` on v2), or undefined at the root (no container, or a private cgroup namespace, where the path says nothing).
 */
export function ownCgroup(procSelfCgroup: string): string | undefined {
  const lines = procSelfCgroup.split('\n');
  const v1 = lines.map((line) => /^\d+:([^:]*):(.*)$/.exec(line)).find((match) => match && match[1]!.split(',').includes('pids'));
  const path = v1?.[2] ?? lines.map((line) => /^0::(.*)$/.exec(line)?.[1]).find((found) => found !== undefined);
  return path && path !== '/' ? path : undefined;
}

/**
 * Where this agent's job containers go so that the agent container's pids limit caps them all: its own cgroup, as
 * their CgroupParent. Only with Docker's cgroupfs driver (systemd's takes slice names, not paths); otherwise none.
 */
export async function jobCgroupParent(docker: Docker, log: (line: string) => void): Promise<string | undefined> {
  let own: string | undefined;
  try {
    own = ownCgroup(readFileSync('/proc/self/cgroup', 'utf8'));
  } catch {
    own = undefined;
  }
  const driver = (await docker.info().catch(() => ({}))) as { CgroupDriver?: string };
  if (own && driver.CgroupDriver === 'cgroupfs') return own;
  log(
    `job containers are not placed under this agent's cgroup (${own ? `Docker's cgroup driver is ${driver.CgroupDriver ?? 'unknown'}` : 'no cgroup of its own'}): only each job's pids limit applies`,
  );
  return undefined;
}
