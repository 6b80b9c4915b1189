import {
  ExitCode,
  fromErrorBody,
  KatapultError,
  type AgentView,
  type CancelRunRequest,
  type CancelRunResponse,
  type CreateRunRequest,
  type CreateRunResponse,
  type ErrorBody,
  type RunView,
} from '@katapult/core/light';

/** How an https coordinator (a remote maestro) is trusted: its stack's CA, and the name its certificate bears. */
export interface CoordinatorTls {
  ca: string;
  servername: string;
}

/** Typed client of the coordinator's HTTP API (schemas in core/protocol/api.ts); every call carries the API token. */
export class CoordinatorClient {
  private tlsFetch: Promise<Send> | undefined;

  constructor(
    readonly baseUrl: string,
    private readonly token: string,
    private readonly tls?: CoordinatorTls,
  ) {}

  createRun(request: CreateRunRequest): Promise<CreateRunResponse> {
    return this.call('POST', '/runs', request);
  }

  listRuns(): Promise<RunView[]> {
    return this.call('GET', '/runs');
  }

  getRun(runId: string): Promise<RunView> {
    return this.call('GET', `/runs/${encodeURIComponent(runId)}`);
  }

  cancelRun(runId: string, request: CancelRunRequest): Promise<CancelRunResponse> {
    return this.call('POST', `/runs/${encodeURIComponent(runId)}/cancel`, request);
  }

  listAgents(): Promise<AgentView[]> {
    return this.call('GET', '/agents');
  }

  /** Whether the coordinator answers and can work (NATS reachable); false when it cannot be reached at all. */
  async healthy(timeoutMs = 5_000): Promise<boolean> {
    try {
      const response = await this.send(`${this.baseUrl}/health`, { signal: AbortSignal.timeout(timeoutMs) });
      await response.body?.cancel();
      return response.ok;
    } catch {
      return false;
    }
  }

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    let response: SentResponse;
    try {
      response = await this.send(`${this.baseUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${this.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (error) {
      throw new KatapultError('KP_COORDINATOR_UNREACHABLE', `cannot reach the coordinator at ${this.baseUrl}`, {
        hint: 'is the stack up? katapult launch starts it',
        cause: error,
      });
    }
    const payload: unknown = await response.json().catch(() => undefined);
    if (response.status === 401) {
      throw new KatapultError('KP_API_UNAUTHORIZED', `the coordinator at ${this.baseUrl} refused this stack's API token`, {
        hint: 'it was started with another one: katapult down, then katapult launch <config>',
        exitCode: ExitCode.infrastructure,
      });
    }
    if (!response.ok) {
      const exitCode = response.status < 500 ? ExitCode.badInput : ExitCode.infrastructure;
      if (payload && typeof payload === 'object' && 'code' in payload) throw fromErrorBody(payload as ErrorBody, exitCode);
      throw new KatapultError('KP_COORDINATOR_ERROR', `${method} ${path} answered ${response.status}`, { exitCode });
    }
    return payload as T;
  }

  /**
   * Plain http goes through Node's own fetch. Only a maestro's TLS needs undici's Agent, with the stack's own CA
   * and nothing else (a maestro is reached by IP, its certificate names the stack); undici is loaded then, as it
   * would add a third to the start of every command.
   */
  private send(url: string, init: SendInit): Promise<SentResponse> {
    const tls = this.tls;
    if (!tls) return fetch(url, init);
    this.tlsFetch ??= import('undici').then(({ Agent, fetch: undiciFetch }) => {
      const dispatcher = new Agent({ connect: { ca: tls.ca, servername: tls.servername } });
      return (target, options) => undiciFetch(target, { ...options, dispatcher });
    });
    return this.tlsFetch.then((sendOverTls) => sendOverTls(url, init));
  }
}

interface SendInit {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  signal?: AbortSignal;
}

/** What the client reads of an answer, the same from Node's fetch and from undici's. */
interface SentResponse {
  ok: boolean;
  status: number;
  json(): Promise<unknown>;
  body: { cancel(): Promise<void> } | null;
}

type Send = (url: string, init: SendInit) => Promise<SentResponse>;
