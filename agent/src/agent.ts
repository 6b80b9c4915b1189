import type Docker from 'dockerode';
import type { Assignment } from '@katapult/core';
import type { AgentConfig } from './config.js';
import { connectAgentBus, type AgentBus } from './bus/agent-bus.js';
import { runJobAttempt } from './runner/job-runner.js';
import { openJobFileStore } from './files/file-store.js';

export interface RunningAgent {
  bus: AgentBus;
  running(): Assignment[];
  stop(): Promise<void>;
}

/** Registers with the coordinator (heartbeats in the agents bucket) and runs every assignment it receives. */
export async function startAgent(config: AgentConfig, docker: Docker, log: (line: string) => void): Promise<RunningAgent> {
  const bus = await connectAgentBus({ ...config, log });
  const files = await openJobFileStore(bus.nc, bus.names, config.cacheDir);
  const running = new Map<string, { assignment: Assignment; stop: AbortController }>();
  const beat = () => bus.heartbeat([...running.values()].map((entry) => entry.assignment)).catch((error: unknown) => log(`heartbeat failed: ${String(error)}`));
  await beat();
  const timer = setInterval(beat, config.heartbeatMs);

  const attemptKey = (job: { runId: string; jobId: string; attempt: number }) => `${job.runId}.${job.jobId}.${job.attempt}`;
  bus.onStopRequest((request) => {
    const entry = running.get(attemptKey(request));
    if (!entry || entry.stop.signal.aborted) return;
    log(`stopping ${request.runId}/${request.jobId} attempt ${request.attempt}, as the coordinator asks`);
    entry.stop.abort();
  });

  void bus
    .consumeAssignments(async (assignment) => {
      const key = attemptKey(assignment);
      const stop = new AbortController();
      running.set(key, { assignment, stop });
      void beat();
      log(`running ${assignment.runId}/${assignment.jobId} attempt ${assignment.attempt}`);
      try {
        await runJobAttempt(docker, assignment, bus.sinkFor(assignment), {
          agentId: config.agentId,
          stackLabel: config.stackLabel,
          files,
          signal: stop.signal,
        });
      } finally {
        running.delete(key);
        void beat();
      }
    })
    .catch((error: unknown) => log(`assignment consumer stopped: ${String(error)}`));

  return {
    bus,
    running: () => [...running.values()].map((entry) => entry.assignment),
    async stop() {
      clearInterval(timer);
      await bus.close();
    },
  };
}
