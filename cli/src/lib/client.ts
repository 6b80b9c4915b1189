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

/** Typed client of the coordinator's HTTP API (schemas in core/protocol/api.ts). */
export class CoordinatorClient {
  constructor(private readonly baseUrl: string) {}

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

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    let response: Response;
    try {
      response = await fetch(`${this.baseUrl}${path}`, {
        method,
        ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
      });
    } catch (error) {
      throw new KatapultError('KP_COORDINATOR_UNREACHABLE', `cannot reach the coordinator at ${this.baseUrl}`, {
        hint: 'is the stack up? katapult launch starts it',
        cause: error,
      });
    }
    const payload: unknown = await response.json().catch(() => undefined);
    if (!response.ok) {
      const exitCode = response.status < 500 ? ExitCode.badInput : ExitCode.infrastructure;
      if (payload && typeof payload === 'object' && 'code' in payload) throw fromErrorBody(payload as ErrorBody, exitCode);
      throw new KatapultError('KP_COORDINATOR_ERROR', `${method} ${path} answered ${response.status}`, { exitCode });
    }
    return payload as T;
  }
}
