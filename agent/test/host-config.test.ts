import { describe, expect, it } from 'vitest';
import { JOB_PIDS_LIMIT } from '../src/index.js';
import { containerUser, jobHostConfig, jobUser } from '../src/runner/host-config.js';

describe('job container config', () => {
  it('drops every capability, forbids new privileges, mounts nothing and caps processes', () => {
    expect(jobHostConfig({ cpus: 2, network: 'bridge' }, null)).toEqual({
      NanoCpus: 2e9,
      PidsLimit: JOB_PIDS_LIMIT,
      CapDrop: ['ALL'],
      Privileged: false,
      SecurityOpt: ['no-new-privileges'],
      Binds: [],
    });
  });

  it('caps memory with no swap beyond it, and keeps the network the job asked for', () => {
    expect(jobHostConfig({ cpus: 0.5, network: 'none' }, 64 * 1024 * 1024)).toMatchObject({
      NanoCpus: 5e8,
      Memory: 64 * 1024 * 1024,
      MemorySwap: 64 * 1024 * 1024,
      NetworkMode: 'none',
    });
  });

  it("runs as the user an environment image's label names, by ids", () => {
    const user = jobUser('reg/katapult/env:abc', { 'katapult.environment': 'science', 'katapult.user': '1000:1000' });
    expect(user).toEqual({ uid: 1000, gid: 1000 });
    expect(containerUser(user)).toEqual({ User: '1000:1000' });
  });

  it("keeps the image's own user when there is no such label", () => {
    expect(jobUser('katapult/base:bookworm', null)).toBeNull();
    expect(jobUser('katapult/base:bookworm', { 'org.opencontainers.image.title': 'x' })).toBeNull();
    expect(containerUser(null)).toEqual({});
  });

  it('refuses a label that does not name a non-root uid:gid, rather than running the job as root', () => {
    expect(() => jobUser('reg/env:x', { 'katapult.user': 'katapult' })).toThrow(
      'image reg/env:x has the label katapult.user=katapult, which is not a non-root uid:gid such as 1000:1000',
    );
    expect(() => jobUser('reg/env:x', { 'katapult.user': '0:0' })).toThrow(/not a non-root uid:gid/);
  });
});
