import type Docker from 'dockerode';
import { formatJobUser, JOB_USER_LABEL, noGpuRuntimeMessage, parseJobUser, type Assignment, type JobUserIds } from '@katapult/core';

/** Processes a job may have at once: room for any real process pool or build, none for a fork bomb. */
export const JOB_PIDS_LIMIT = 4096;

/**
 * The user a job runs as: the unprivileged one an environment image names in its JOB_USER_LABEL, or null for an
 * image without that label, which keeps its own user (root in a plain base image). A label that does not name
 * a non-root `uid:gid` is refused rather than ignored: running such a job as root is what the label is there to
 * avoid.
 */
export function jobUser(image: string, labels: Readonly<Record<string, string>> | null | undefined): JobUserIds | null {
  const label = labels?.[JOB_USER_LABEL];
  if (label === undefined) return null;
  const user = parseJobUser(label);
  if (!user) throw new Error(`image ${image} has the label ${JOB_USER_LABEL}=${label}, which is not a non-root uid:gid such as 1000:1000`);
  return user;
}

/** The container's `User`: the ids, so no lookup in the image's /etc/passwd can map them to anyone else. */
export function containerUser(user: JobUserIds | null): { User?: string } {
  return user ? { User: formatJobUser(user) } : {};
}

/**
 * How a job's container is confined. It runs as its image's job user (see jobUser), else as the image's own
 * user (root in a plain base image), with no capability at all, so even root in the job cannot override file
 * permissions, change owners, load modules or reconfigure the network; it cannot gain privileges through setuid
 * binaries; nothing of the host is mounted (above all not the Docker socket, which would hand it the machine);
 * its cpus, memory (no swap beyond it) and process count are capped. Its network is Docker's default bridge
 * unless the job asked for none or host. A job that needs GPUs is given that many by the NVIDIA runtime.
 */
export function jobHostConfig(assignment: Pick<Assignment, 'cpus' | 'network' | 'gpus'>, memoryBytes: number | null): Docker.HostConfig {
  const gpus = assignment.gpus ?? 0;
  return {
    NanoCpus: assignment.cpus * 1e9,
    // What `docker run --gpus N` asks for, with the driver named so the error says which one is missing.
    ...(gpus > 0 ? { DeviceRequests: [{ Driver: 'nvidia', Count: gpus, Capabilities: [['gpu']] }] } : {}),
    ...(memoryBytes === null ? {} : { Memory: memoryBytes, MemorySwap: memoryBytes }),
    PidsLimit: JOB_PIDS_LIMIT,
    CapDrop: ['ALL'],
    Privileged: false,
    SecurityOpt: ['no-new-privileges'],
    Binds: [],
    // The output is read from the attach stream and stored in JetStream; Docker's own copy (json-file, on disk)
    // was removed with the container unread, and writing it cost more than running `seq 1 1000000` itself.
    LogConfig: { Type: 'none', Config: {} },
    ...(assignment.network === 'bridge' ? {} : { NetworkMode: assignment.network }),
  };
}

/**
 * The start failure of a GPU job whose Docker has no NVIDIA runtime, as one line saying so; any other error as it is.
 * Docker says `could not select device driver "nvidia" with capabilities: [[gpu]]`.
 */
export function explainStartFailure(assignment: Pick<Assignment, 'jobId' | 'gpus'>, message: string): string {
  const gpus = assignment.gpus ?? 0;
  if (gpus > 0 && /could not select device driver "?nvidia"?/i.test(message)) return noGpuRuntimeMessage(assignment.jobId, gpus);
  return message;
}
