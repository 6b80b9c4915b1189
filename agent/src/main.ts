import Docker from 'dockerode';
import { formatGpus, KatapultError } from '@katapult/core';
import { readAgentConfig } from './config.js';
import { startAgent } from './agent.js';
import { buildAgentServer } from './http/server.js';
import { processLogger } from '@katapult/logging';

let { log } = processLogger('agent');

try {
  const config = readAgentConfig(process.env);
  const { log: agentLog, logger } = processLogger('agent', { agentId: config.agentId });
  log = agentLog;
  const agent = await startAgent(config, new Docker(), log);
  const gpus = config.gpus > 0 ? ` and ${formatGpus(config.gpus)}` : '';
  log(
    `${config.agentId} registered with ${config.cpus} cpus${gpus}${config.instanceType ? ` (${config.instanceType})` : ''} on cluster ${config.cluster}`,
  );
  if (config.httpPort > 0) {
    const server = buildAgentServer({
      agentId: config.agentId,
      instanceId: config.instanceId,
      cpus: config.cpus,
      gpus: config.gpus,
      running: () => agent.running().map((a) => `${a.runId}/${a.jobId}`),
      logger,
    });
    await server.listen({ port: config.httpPort, host: config.httpHost });
  }
  const shutdown = () => void agent.stop().finally(() => process.exit(0));
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
} catch (error) {
  log(error instanceof KatapultError ? error.toLine() : String(error), { level: 'error' });
  process.exit(error instanceof KatapultError ? error.exitCode : 3);
}
