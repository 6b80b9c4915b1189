import { Agent, fetch, type Response } from 'undici';
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
} from '@katapult/core';

/** How an https coordinator (a remote maestro) is trusted: its stack's CA, and the name its certificate bears. */
export interface CoordinatorTls {
  ca: string;
  servername: string;
}

/** Typed client of the coordinator's HTTP API (schemas in core/protocol/api.ts); every call carries the API token. */
export class CoordinatorClient {
  private readonly dispatcher: Agent | undefined;

  constructor(
    readonly baseUrl: string,
    private readonly token: string,
    tls?: CoordinatorTls,
  ) {
    // The stack's own CA and nothing else: a maestro is reached by IP, its certificate names the stack.
    this.dispatcher = tls ? new Agent({ connect: { ca: tls.ca, servername: tls.servername } }) : undefined;
  }

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
      const response = await fetch(`${this.baseUrl}/health`, { ...(this.dispatcher ? { dispatcher: this.dispatcher } : {}), signal: AbortSignal.timeout(timeoutMs) });
      await response.body?.cancel();
      return response.ok;
    } catch {
      return false;
    }
  }

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    let response: Response;
    try {
      response = await fetch(`${this.baseUrl}${path}`, {
        ...(this.dispatcher ? { dispatcher: this.dispatcher } : {}),
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
}
