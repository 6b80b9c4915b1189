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
  const running = new Map<string, Assignment>();
  const beat = () => bus.heartbeat([...running.values()]).catch((error: unknown) => log(`heartbeat failed: ${String(error)}`));
  await beat();
  const timer = setInterval(beat, config.heartbeatMs);

  void bus
    .consumeAssignments(async (assignment) => {
      const key = `${assignment.runId}.${assignment.jobId}.${assignment.attempt}`;
      running.set(key, assignment);
      void beat();
      log(`running ${assignment.runId}/${assignment.jobId} attempt ${assignment.attempt}`);
      try {
        await runJobAttempt(docker, assignment, bus.sinkFor(assignment), { agentId: config.agentId, stackLabel: config.stackLabel, files });
      } finally {
        running.delete(key);
        void beat();
      }
    })
    .catch((error: unknown) => log(`assignment consumer stopped: ${String(error)}`));

  return {
    bus,
    running: () => [...running.values()],
    async stop() {
      clearInterval(timer);
      await bus.close();
    },
  };
}
