import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';

/** How an https server (a remote maestro) is trusted: its stack's CA, and the name its certificate bears. */
export interface HttpTls {
  ca: string;
  servername: string;
}

export interface HttpCall {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  signal?: AbortSignal;
  tls?: HttpTls;
}

const IDLE_TIMEOUT_MS = 300_000;

export interface HttpAnswer {
  status: number;
  ok: boolean;
  /** The body as JSON; undefined when it is not. */
  json: unknown;
}

/**
 * One request on its own connection, closed after the answer. node:http rather than fetch: fetch loads undici
 * (a third of a CLI start) and keeps the connection alive, which holds a command that is done from exiting.
 */
export function httpCall(url: string, call: HttpCall = {}): Promise<HttpAnswer> {
  const target = new URL(url);
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  const headers = { ...call.headers, ...(call.body === undefined ? {} : { 'content-length': String(Buffer.byteLength(call.body)) }) };
  return new Promise((resolve, reject) => {
    const req = send(
      target,
      {
        method: call.method ?? 'GET',
        headers,
        agent: false,
        ...(call.signal ? { signal: call.signal } : {}),
        ...(call.tls ? { ca: call.tls.ca, servername: call.tls.servername } : {}),
      },
      (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          resolve({ status, ok: status >= 200 && status < 300, json: parseJson(Buffer.concat(chunks).toString('utf8')) });
        });
      },
    );
    // As fetch did (undici's 300 s): a server that takes the connection and never answers is given up on.
    req.setTimeout(IDLE_TIMEOUT_MS, () => req.destroy(new Error(`${target.host} sent nothing for ${IDLE_TIMEOUT_MS / 1000}s`)));
    req.on('error', reject);
    req.end(call.body);
  });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
