import { attemptContext, openSecrets, runContext, sealSecrets, secretsKey, type Assignment, type JobRecord } from '@katapult/core';
import type { RunRecord } from '../store/store.js';

/** The keys secrets are kept under: the run's (the RunService's) and, for each agent with a NATS user of its own, its password. */
export interface SecretKeys {
  runKey?: Buffer | undefined;
  agentSecret?: ((agentId: string) => string | undefined) | undefined;
}

/**
 * The job's secret values, opened from the run's record and sealed again for this agent and attempt alone, or
 * why they cannot be (a problem that names no value); undefined for a job without secrets.
 */
export function sealForAgent(
  run: RunRecord,
  job: JobRecord,
  agentId: string,
  keys: SecretKeys,
): { ok: true; sealed: string } | { ok: false; problem: string } | undefined {
  const names = job.secrets ?? [];
  if (names.length === 0) return undefined;
  const values = run.secrets && keys.runKey ? openSecrets(run.secrets, keys.runKey, runContext(run.id)) : undefined;
  if (!values)
    return {
      ok: false,
      problem: `KP_SECRETS_UNREADABLE the run's secrets cannot be opened by this coordinator (another API token?); launch the run again`,
    };
  const agentSecret = keys.agentSecret?.(agentId);
  if (!agentSecret)
    return { ok: false, problem: `KP_SECRETS_NO_AGENT_KEY agent ${agentId} has no NATS user of its own to seal the job's secrets for` };
  const own = Object.fromEntries(names.filter((name) => Object.hasOwn(values, name)).map((name) => [name, values[name]!]));
  return { ok: true, sealed: sealSecrets(own, secretsKey(agentSecret, 'agent'), attemptContext(job.runId, job.id, job.attempt)) };
}

/** What an agent is sent for an assigned job's attempt. */
export function assignmentOf(job: JobRecord, sealedSecrets: string | undefined): Assignment {
  return {
    v: 1,
    runId: job.runId,
    jobId: job.id,
    attempt: job.attempt,
    image: job.image,
    runCommand: job.runCommand,
    cpus: job.cpusReq,
    gpus: job.gpusReq ?? 0,
    // Records stored before jobs had these fields get what jobs had then: no limit of their own, Docker's network.
    memoryBytes: job.memoryBytes ?? null,
    network: job.network ?? 'bridge',
    files: job.files,
    ...(job.inputArchives?.length ? { inputArchives: job.inputArchives } : {}),
    outputFiles: job.outputFiles,
    env: job.env ?? {},
    jobIndex: job.copyIndex ?? 0,
    jobCount: job.copyCount ?? 1,
    ...(job.timeoutSeconds ? { timeoutSeconds: job.timeoutSeconds } : {}),
    ...(sealedSecrets ? { secrets: sealedSecrets } : {}),
  };
}
