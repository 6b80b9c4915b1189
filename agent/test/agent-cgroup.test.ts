import { describe, expect, it } from 'vitest';
import { ownCgroup } from '../src/runner/agent-cgroup.js';

describe("the agent's own cgroup, where its job containers go", () => {
  it('is the pids controller path on cgroup v1', () => {
    const v1 = ['12:memory:/docker/abc', '8:pids:/docker/abc', '1:name=systemd:/docker/abc', ''].join('\n');
    expect(ownCgroup(v1)).toBe('/docker/abc');
    expect(ownCgroup('3:cpu,cpuacct:/x\n4:pids,devices:/docker/def\n')).toBe('/docker/def');
  });
  it('is the unified path on cgroup v2', () => {
    expect(ownCgroup('0::/system.slice/docker-abc.scope\n')).toBe('/system.slice/docker-abc.scope');
  });
  it('is none at the root: not in a container, or a private cgroup namespace that hides the path', () => {
    expect(ownCgroup('8:pids:/\n')).toBeUndefined();
    expect(ownCgroup('0::/\n')).toBeUndefined();
    expect(ownCgroup('')).toBeUndefined();
  });
});
