import type Docker from 'dockerode';
import type { Assignment } from '@katapult/core';

/** Processes a job may have at once: room for any real process pool or build, none for a fork bomb. */
export const JOB_PIDS_LIMIT = 4096;

/**
 * How a job's container is confined. It runs as its image's user (root in Katapult's images) with no
 * capability at all, so root in the job cannot override file permissions, change owners, load modules or
 * reconfigure the network; it cannot gain privileges through setuid binaries; nothing of the host is mounted
 * (above all not the Docker socket, which would hand it the machine); its cpus, memory (no swap beyond it)
 * and process count are capped. Its network is Docker's default bridge unless the job asked for none or host.
 */
export function jobHostConfig(assignment: Pick<Assignment, 'cpus' | 'network'>, memoryBytes: number | null): Docker.HostConfig {
  return {
    NanoCpus: assignment.cpus * 1e9,
    ...(memoryBytes === null ? {} : { Memory: memoryBytes, MemorySwap: memoryBytes }),
    PidsLimit: JOB_PIDS_LIMIT,
    CapDrop: ['ALL'],
    Privileged: false,
    SecurityOpt: ['no-new-privileges'],
    Binds: [],
    ...(assignment.network === 'bridge' ? {} : { NetworkMode: assignment.network }),
  };
}
