import { describe, expect, it } from 'vitest';
import { JOB_PIDS_LIMIT } from '../src/index.js';
import { containerUser, explainStartFailure, jobHostConfig, jobUser } from '../src/runner/host-config.js';

describe('job container config', () => {
  it('drops every capability, forbids new privileges, mounts nothing, caps processes and keeps no Docker log', () => {
    expect(jobHostConfig({ cpus: 2, network: 'bridge' }, null)).toEqual({
      NanoCpus: 2e9,
      PidsLimit: JOB_PIDS_LIMIT,
      CapDrop: ['ALL'],
      Privileged: false,
      SecurityOpt: ['no-new-privileges'],
      Binds: [],
      LogConfig: { Type: 'none', Config: {} },
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

  it('asks Docker for as many NVIDIA GPUs as the job needs, and for none otherwise', () => {
    expect(jobHostConfig({ cpus: 4, network: 'bridge', gpus: 2 }, null)).toEqual({
      NanoCpus: 4e9,
      DeviceRequests: [{ Driver: 'nvidia', Count: 2, Capabilities: [['gpu']] }],
      PidsLimit: JOB_PIDS_LIMIT,
      CapDrop: ['ALL'],
      Privileged: false,
      SecurityOpt: ['no-new-privileges'],
      Binds: [],
      LogConfig: { Type: 'none', Config: {} },
    });
    expect(jobHostConfig({ cpus: 1, network: 'bridge', gpus: 0 }, null)).not.toHaveProperty('DeviceRequests');
    // An assignment sent before jobs could ask for GPUs has no `gpus`.
    expect(jobHostConfig({ cpus: 1, network: 'bridge' }, null)).not.toHaveProperty('DeviceRequests');
  });

  it("says in one line that the instance's Docker has no NVIDIA runtime when a GPU job cannot start for that", () => {
    const docker = '(HTTP code 500) server error - could not select device driver "nvidia" with capabilities: [[gpu]]';
    expect(explainStartFailure({ jobId: 'train', gpus: 1 }, docker)).toBe(
      "KP_NO_GPU_RUNTIME: job train asked for 1 GPU but this instance's Docker has no NVIDIA runtime",
    );
    expect(explainStartFailure({ jobId: 'train', gpus: 2 }, docker)).toMatch(/asked for 2 GPUs/);
    expect(explainStartFailure({ jobId: 'plain' }, 'no such image')).toBe('no such image');
    expect(explainStartFailure({ jobId: 'train', gpus: 1 }, 'no such image')).toBe('no such image');
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
