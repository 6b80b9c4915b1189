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
import { httpCall, type HttpAnswer, type HttpTls } from './http-call.js';

/** How an https coordinator (a remote maestro) is trusted: its stack's CA and nothing else, and the name its certificate bears (it is reached by IP). */
export type CoordinatorTls = HttpTls;

/** Typed client of the coordinator's HTTP API (schemas in core/protocol/api.ts); every call carries the API token. */
export class CoordinatorClient {
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
      const answer = await httpCall(`${this.baseUrl}/health`, { signal: AbortSignal.timeout(timeoutMs), ...this.tlsOption() });
      return answer.ok;
    } catch {
      return false;
    }
  }

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    let response: HttpAnswer;
    try {
      response = await httpCall(`${this.baseUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${this.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        ...this.tlsOption(),
      });
    } catch (error) {
      throw new KatapultError('KP_COORDINATOR_UNREACHABLE', `cannot reach the coordinator at ${this.baseUrl}`, {
        hint: 'is the stack up? katapult launch starts it',
        cause: error,
      });
    }
    const payload = response.json;
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

  private tlsOption(): { tls?: HttpTls } {
    return this.tls ? { tls: this.tls } : {};
  }
}
