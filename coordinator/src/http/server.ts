import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import websocket from '@fastify/websocket';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import {
  AgentViewSchema,
  CancelRunRequestSchema,
  CancelRunResponseSchema,
  CreateRunRequestSchema,
  CreateRunResponseSchema,
  ErrorBodySchema,
  JobPageQuerySchema,
  JobPageSchema,
  RunSummarySchema,
  RunViewSchema,
  toErrorBody,
  KatapultError,
  ExitCode,
  httpStatusOf,
  timelineLayout,
  timelineSvg,
  unpinnedRunImage,
} from '@katapult/core';
import type { JobLogSource } from '../job-log-source.js';
import type { RunService } from '../run-service.js';
import { PUBLIC_ROUTES, requestCarriesToken, requireApiToken, WS_PROTOCOL } from './auth.js';
import { dashboardRoutes } from './dashboard.js';
import { logSocketRoutes } from './log-socket.js';

/**
 * The coordinator's HTTP API. Every route declares its schemas; bodies are validated before any handler.
 * Every route but /health and the dashboard's static page needs `Authorization: Bearer <token>` (a WebSocket: see auth.ts).
 */
export interface ServerOptions {
  /** The API token; required, so that no server is ever built that answers anyone. */
  token: string;
  /** False while NATS is out of reach: /health answers 503 so callers wait instead of failing on timeouts. */
  healthy?: () => boolean;
  /** The watchdog's one line while the disk under the stack's state is full (KP_DISK_FULL ...), for /health. */
  diskFull?: () => string | undefined;
  /** Where the log WebSocket reads job logs from; without it the route is not served. */
  logs?: JobLogSource;
  /** Serves HTTPS with this certificate and key (PEM) instead of plain HTTP: the maestro's API is reached across a network. */
  https?: { cert: string; key: string } | undefined;
  /** Logs each request (at info) and Fastify's own errors here; without it the server logs nothing. */
  logger?: FastifyBaseLogger;
}

export function buildServer(runs: RunService, options: ServerOptions): FastifyInstance {
  const token = requireApiToken(options.token);
  // Fastify types an HTTPS instance apart from an HTTP one; its routes and hooks are the same.
  // Fastify's Ajv coerces by default: a null would become 0 or "" (a disk of size 0, a spot price of 0). Bodies are
  // taken as sent; a wrong type is a 400 naming the field.
  const ajv = { customOptions: { coerceTypes: false as const } };
  // A sweep of 10,000 jobs is a few MB of JSON; more than this is refused with 413.
  const bodyLimit = 64 * 1024 * 1024;
  const logging = options.logger ? { loggerInstance: options.logger } : { logger: false };
  const app = (
    options.https
      ? (Fastify({ ...logging, ajv, bodyLimit, https: options.https }) as unknown as FastifyInstance)
      : (Fastify({ ...logging, ajv, bodyLimit }) as unknown as FastifyInstance)
  ).withTypeProvider<TypeBoxTypeProvider>();

  // onRequest runs before the body is read or validated, and for unknown routes too.
  app.addHook('onRequest', async (request, reply) => {
    if (PUBLIC_ROUTES.has(request.routeOptions.url ?? '') || requestCarriesToken(request.headers, token)) return;
    // A refused WebSocket upgrade is answered on its raw socket, which nothing else would close.
    if (request.headers.upgrade) reply.raw.once('finish', () => request.raw.socket.end());
    return reply
      .status(401)
      .header('www-authenticate', 'Bearer')
      .send({ code: 'KP_API_UNAUTHORIZED', message: 'this request has no valid API token (Authorization: Bearer <token>)' });
  });

  app.setErrorHandler((error, _request, reply) => {
    if ((error as { validation?: unknown }).validation) {
      return reply.status(400).send({ code: 'KP_API_BAD_REQUEST', message: (error as Error).message });
    }
    // Fastify's own refusals (a body too large, malformed JSON) carry their 4xx status.
    const refused = (error as { statusCode?: unknown }).statusCode;
    if (!(error instanceof KatapultError) && typeof refused === 'number' && refused >= 400 && refused < 500) {
      return reply
        .status(refused)
        .send({ code: refused === 413 ? 'KP_API_TOO_LARGE' : 'KP_API_BAD_REQUEST', message: (error as Error).message });
    }
    return reply.status(error instanceof KatapultError ? httpStatusOf(error.code) : 500).send(toErrorBody(error));
  });

  const Health = Type.Object({ ok: Type.Boolean(), diskFull: Type.Optional(Type.String()) });
  app.get('/health', { schema: { response: { 200: Health, 503: Health } } }, async (_request, reply) => {
    const ok = options.healthy?.() ?? true;
    const diskFull = options.diskFull?.();
    return reply.status(ok ? 200 : 503).send({ ok, ...(diskFull === undefined ? {} : { diskFull }) });
  });

  app.post(
    '/runs',
    { schema: { body: CreateRunRequestSchema, response: { 201: CreateRunResponseSchema, '4xx': ErrorBodySchema } } },
    async (request, reply) => {
      // Jobs run exactly what was built: a tag pushed over after the run was posted must not change it.
      const unpinned = unpinnedRunImage(request.body);
      if (unpinned) {
        throw new KatapultError(
          'KP_API_IMAGE_NOT_PINNED',
          `${unpinned.field}: "${unpinned.ref}" is not pinned by digest (<repository>@sha256:<64 hex digits>)`,
          {
            exitCode: ExitCode.badInput,
          },
        );
      }
      return reply.status(201).send(await runs.create(request.body));
    },
  );

  app.get('/runs', { schema: { response: { 200: Type.Array(RunViewSchema) } } }, async () => runs.list());
  app.get('/runs/summary', { schema: { response: { 200: Type.Array(RunSummarySchema) } } }, async () => runs.summaries());

  app.get(
    '/runs/:runId',
    { schema: { params: Type.Object({ runId: Type.String() }), response: { 200: RunViewSchema, 404: ErrorBodySchema } } },
    async (request) => runs.get(request.params.runId),
  );

  app.get(
    '/runs/:runId/jobs',
    {
      schema: {
        params: Type.Object({ runId: Type.String() }),
        querystring: JobPageQuerySchema,
        response: { 200: JobPageSchema, '4xx': ErrorBodySchema },
      },
    },
    async (request) => runs.jobPage(request.params.runId, request.query),
  );

  // The run's timeline as an SVG document (what `katapult status --timeline` writes), for the dashboard.
  app.get(
    '/runs/:runId/timeline.svg',
    {
      schema: {
        params: Type.Object({ runId: Type.String() }),
        querystring: Type.Object({ width: Type.Optional(Type.String({ pattern: '^[0-9]{3,4}$' })) }),
      },
    },
    async (request, reply) => {
      const run = await runs.get(request.params.runId);
      const width = request.query.width === undefined ? undefined : Number(request.query.width);
      const svg = timelineSvg(timelineLayout(run.jobs, Date.now()), { ...(width === undefined ? {} : { width }) });
      return reply.type('image/svg+xml; charset=utf-8').header('cache-control', 'no-store').send(svg);
    },
  );

  app.post(
    '/runs/:runId/cancel',
    {
      schema: {
        params: Type.Object({ runId: Type.String() }),
        body: CancelRunRequestSchema,
        response: { 200: CancelRunResponseSchema, '4xx': ErrorBodySchema },
      },
    },
    async (request) => runs.cancel(request.params.runId, request.body.jobs),
  );

  app.get('/agents', { schema: { response: { 200: Type.Array(AgentViewSchema) } } }, async () => runs.agents());

  app.register(dashboardRoutes);
  // WebSocket routes must be declared in a plugin loaded after @fastify/websocket.
  app.register(websocket, {
    options: { maxPayload: 4096, handleProtocols: (offered) => (offered.has(WS_PROTOCOL) ? WS_PROTOCOL : false) },
  });
  if (options.logs) app.register(logSocketRoutes, { runs, logs: options.logs });

  return app;
}
