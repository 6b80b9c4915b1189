/**
 * GPUs, counted like cpus: an instance offers some, a job needs some, and the scheduler never gives one GPU to
 * two jobs. The instance's `gpu` (the original's key) names the GPU type; `gpus` (new) says how many it has.
 */

/** An instance's `gpus`; without it, one GPU when it names a `gpu` type, else none. */
export function instanceGpus(instance: { gpu?: string | null | undefined; gpus?: number | null | undefined }): number {
  return instance.gpus ?? (instance.gpu ? 1 : 0);
}

/** `1 GPU`, `2 GPUs`: for messages. */
export function formatGpus(count: number): string {
  return `${count} GPU${count === 1 ? '' : 's'}`;
}

/**
 * The one line a GPU job's start failure becomes when the instance's Docker cannot give it a GPU: Docker says
 * `could not select device driver "nvidia" with capabilities: [[gpu]]`, which names neither the job nor the fix.
 */
export function noGpuRuntimeMessage(jobId: string, gpus: number): string {
  return `KP_NO_GPU_RUNTIME: job ${jobId} asked for ${formatGpus(gpus)} but this instance's Docker has no NVIDIA runtime`;
}
