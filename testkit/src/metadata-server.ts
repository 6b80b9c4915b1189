import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type SpotAction = 'terminate' | 'stop' | 'hibernate';

export interface MetadataServer {
  /** http://127.0.0.1:PORT, the base address an agent is given as KATAPULT_METADATA_URL. */
  url: string;
  /** What `instance-id` answers. */
  instanceId: string;
  /** What `instance-type` answers. */
  instanceType: string;
  /** From now on `spot/instance-action` answers 200 with this action, due two minutes later. */
  interrupt(action?: SpotAction): void;
  /** Forgets every session token issued, as if they had expired: the next GET with one answers 401. */
  expireTokens(): void;
  /** How many requests each path got so far, e.g. `requests('PUT /latest/api/token')`. */
  requests(route: string): number;
  stop(): Promise<void>;
}

const TOKEN_PATH = '/latest/api/token';
const INSTANCE_ACTION_PATH = '/latest/meta-data/spot/instance-action';
const INSTANCE_ID_PATH = '/latest/meta-data/instance-id';
const INSTANCE_TYPE_PATH = '/latest/meta-data/instance-type';

/**
 * A stand-in for the EC2 instance metadata service, IMDSv2 only, on 127.0.0.1: `PUT /latest/api/token` (with
 * `X-aws-ec2-metadata-token-ttl-seconds`, 1 to 21600) gives a session token; `GET /latest/meta-data/…` needs it
 * in `X-aws-ec2-metadata-token` (401 without a valid one). `instance-id` answers `options.instanceId` (default: a
 * random one, `i-` and 17 hex digits, as EC2's); `instance-type` answers `options.instanceType` (default
 * `t3.micro`); `spot/instance-action` is 404 until interrupt().
 */
export async function startMetadataServer(options: { instanceId?: string; instanceType?: string } = {}): Promise<MetadataServer> {
  const instanceId = options.instanceId ?? `i-${randomBytes(9).toString('hex').slice(0, 17)}`;
  const instanceType = options.instanceType ?? 't3.micro';
  const tokens = new Set<string>();
  const counts = new Map<string, number>();
  let notice: { action: SpotAction; time: string } | undefined;

  const answer = (response: ServerResponse, status: number, body = '', type = 'text/plain') => {
    response.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
    response.end(body);
  };

  const handle = (request: IncomingMessage, response: ServerResponse) => {
    const path = new URL(request.url ?? '/', 'http://metadata').pathname;
    const route = `${request.method} ${path}`;
    counts.set(route, (counts.get(route) ?? 0) + 1);
    if (path === TOKEN_PATH) {
      if (request.method !== 'PUT') return answer(response, 405);
      const ttl = Number(request.headers['x-aws-ec2-metadata-token-ttl-seconds']);
      if (!Number.isInteger(ttl) || ttl < 1 || ttl > 21_600) return answer(response, 400);
      const token = randomBytes(24).toString('base64url');
      tokens.add(token);
      response.setHeader('X-aws-ec2-metadata-token-ttl-seconds', String(ttl));
      return answer(response, 200, token);
    }
    if (!path.startsWith('/latest/meta-data/')) return answer(response, 404);
    if (request.method !== 'GET' && request.method !== 'HEAD') return answer(response, 405);
    const token = request.headers['x-aws-ec2-metadata-token'];
    if (typeof token !== 'string' || !tokens.has(token)) return answer(response, 401);
    if (path === INSTANCE_ID_PATH) return answer(response, 200, instanceId);
    if (path === INSTANCE_TYPE_PATH) return answer(response, 200, instanceType);
    if (path === INSTANCE_ACTION_PATH && notice) return answer(response, 200, JSON.stringify(notice), 'application/json');
    return answer(response, 404);
  };

  const server = createServer((request, response) => {
    // A body (there is none in IMDS requests) is read and dropped so the connection can be reused.
    request.resume();
    request.on('end', () => handle(request, response));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    instanceId,
    instanceType,
    interrupt(action = 'terminate') {
      // AWS gives the time to the second, two minutes ahead.
      notice = { action, time: new Date(Date.now() + 120_000).toISOString().replace(/\.\d{3}Z$/, 'Z') };
    },
    expireTokens() {
      tokens.clear();
    },
    requests: (route) => counts.get(route) ?? 0,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
