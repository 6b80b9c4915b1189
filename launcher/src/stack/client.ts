import {
  ExitCode,
  fromErrorBody,
  KatapultError,
  type AgentView,
  type CancelRunRequest,
  type CancelRunResponse,
  type CreateRunRequest,
  type CreateRunResponse,
  type RunView,
} from '@katapult/core/light';
import type { apiAnswers } from '@katapult/core/checks';
import { coreChecks } from '../core-checks.js';
import { httpCall, type HttpAnswer, type HttpTls } from './http-call.js';

type AnswerKind = Exclude<keyof typeof apiAnswers, 'errorBody'>;

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
    return this.call('createRun', 'POST', '/runs', request);
  }

  listRuns(): Promise<RunView[]> {
    return this.call('listRuns', 'GET', '/runs');
  }

  getRun(runId: string): Promise<RunView> {
    return this.call('getRun', 'GET', `/runs/${encodeURIComponent(runId)}`);
  }

  cancelRun(runId: string, request: CancelRunRequest): Promise<CancelRunResponse> {
    return this.call('cancelRun', 'POST', `/runs/${encodeURIComponent(runId)}/cancel`, request);
  }

  listAgents(): Promise<AgentView[]> {
    return this.call('listAgents', 'GET', '/agents');
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

  /** The answer checked against the schema its route answers with (core/protocol/api.ts). */
  private async call<K extends AnswerKind>(
    kind: K,
    method: string,
    path: string,
    body?: unknown,
  ): Promise<ReturnType<(typeof apiAnswers)[K]>> {
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
      if (payload && typeof payload === 'object' && 'code' in payload) {
        throw fromErrorBody(coreChecks().apiAnswers.errorBody(payload, `${method} ${path} (${response.status})`), exitCode);
      }
      throw new KatapultError('KP_COORDINATOR_ERROR', `${method} ${path} answered ${response.status}`, { exitCode });
    }
    if (payload === undefined) {
      throw new KatapultError('KP_API_BAD_RESPONSE', `${method} ${path}: the answer is not JSON`, { exitCode: ExitCode.infrastructure });
    }
    return coreChecks().apiAnswers[kind](payload, `${method} ${path}`) as ReturnType<(typeof apiAnswers)[K]>;
  }

  private tlsOption(): { tls?: HttpTls } {
    return this.tls ? { tls: this.tls } : {};
  }
}
