import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';

export interface AgentInfo {
  agentId: string;
  instanceId: string;
  cpus: number;
  gpus: number;
  running: () => string[];
  /** Logs each request at info; without it the server logs nothing. */
  logger?: FastifyBaseLogger;
}

/** The agent's small local API: health and what it runs. No secrets are part of any response. */
export function buildAgentServer(info: AgentInfo): FastifyInstance {
  const app = (info.logger ? Fastify({ loggerInstance: info.logger }) : Fastify({ logger: false })) as unknown as FastifyInstance;
  app.get('/health', { schema: { response: { 200: { type: 'object', properties: { ok: { type: 'boolean' } } } } } }, async () => ({
    ok: true,
  }));
  app.get(
    '/info',
    {
      schema: {
        response: {
          200: {
            type: 'object',
            properties: {
              agentId: { type: 'string' },
              instanceId: { type: 'string' },
              cpus: { type: 'integer' },
              gpus: { type: 'integer' },
              running: { type: 'array', items: { type: 'string' } },
            },
          },
        },
      },
    },
    async () => ({ agentId: info.agentId, instanceId: info.instanceId, cpus: info.cpus, gpus: info.gpus, running: info.running() }),
  );
  return app;
}
