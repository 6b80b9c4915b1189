import { describe, expect, it } from 'vitest';
import { agentRecordCodec, assignmentCodec, formatGpus, instanceGpus, loadConfig, noGpuRuntimeMessage } from '../src/index.js';

const load = (text: string) => loadConfig(text, 'katapult.yaml', { defaultCpus: 2 });
const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

describe('GPUs in the config', () => {
  it('a job needs no GPU unless it says gpus_req; an instance has one per `gpu` type unless it says gpus', () => {
    const spec = load(`
instances:
  - cpus: 4
  - cpus: 4
    gpu: nvidia-t4
  - cpus: 8
    gpu: nvidia-a10g
    gpus: 4
  - cpus: 2
    gpus: 2
jobs:
  - run_command: echo cpu
  - name: train
    run_command: python train.py
    gpus_req: 4
    repeat: 2
`);
    expect(spec.instances.map((instance) => [instance.gpu, instance.gpus])).toEqual([
      [null, 0],
      ['nvidia-t4', 1],
      ['nvidia-a10g', 4],
      [null, 2],
    ]);
    expect(spec.jobs.map((job) => [job.id, job.gpusReq])).toEqual([
      ['job-1', 0],
      ['train-1', 4],
      ['train-2', 4],
    ]);
  });

  it('instanceGpus and the messages', () => {
    expect(instanceGpus({})).toBe(0);
    expect(instanceGpus({ gpu: '' })).toBe(0);
    expect(instanceGpus({ gpu: 'nvidia-t4', gpus: null })).toBe(1);
    expect(instanceGpus({ gpu: 'nvidia-t4', gpus: 0 })).toBe(0);
    expect([formatGpus(1), formatGpus(2)]).toEqual(['1 GPU', '2 GPUs']);
    expect(noGpuRuntimeMessage('train', 1)).toBe(
      "KP_NO_GPU_RUNTIME: job train asked for 1 GPU but this instance's Docker has no NVIDIA runtime",
    );
  });

  it('refuses gpus_req below 0 and a gpus that is not an integer, naming the field', () => {
    expect(() => load('jobs:\n  - {run_command: "true", gpus_req: -1}\n')).toThrow(/jobs\[0\]\.gpus_req/);
    expect(() => load('instances: [{gpus: 1.5}]\njobs:\n  - {run_command: "true"}\n')).toThrow(/instances\[0\]\.gpus/);
  });
});

describe('GPUs on the wire, old records still valid', () => {
  const agent = { v: 1, agentId: 'agent-1', instanceId: 'i-1', cpus: 2, startedAt: 1, at: 2, running: [] };
  const assignment = {
    v: 1,
    runId: 'r-gpu',
    jobId: 'job-1',
    attempt: 1,
    image: 'img',
    runCommand: 'true',
    cpus: 1,
    memoryBytes: null,
    network: 'bridge',
    files: [],
    outputFiles: [],
  };

  it('an agent record with or without its GPUs and instance type', () => {
    expect(agentRecordCodec.decode(encode(agent))).toEqual({ ok: true, value: agent });
    const gpu = { ...agent, gpus: 4, instanceType: 'g5.12xlarge' };
    expect(agentRecordCodec.decode(encode(gpu))).toEqual({ ok: true, value: gpu });
  });

  it('an assignment with or without GPUs', () => {
    expect(assignmentCodec.decode(encode(assignment))).toEqual({ ok: true, value: assignment });
    expect(assignmentCodec.decode(encode({ ...assignment, gpus: 2 }))).toEqual({ ok: true, value: { ...assignment, gpus: 2 } });
  });
});
