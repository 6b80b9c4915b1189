/**
 * Watches the EC2 instance metadata service for a spot interruption notice, the IMDSv2 way: a session token
 * from `PUT /latest/api/token`, then `GET /latest/meta-data/spot/instance-action` with it. That item answers
 * 404 until AWS marks the instance for interruption, then 200 with `{"action":"terminate","time":"…"}`
 * about two minutes before it happens.
 */

/** What AWS is about to do to the instance, and when (ISO time, as AWS gives it). */
export interface SpotNotice {
  /** `terminate`, `stop` or `hibernate`; another value AWS may add is passed on as is. */
  action: string;
  time?: string;
}

export const TOKEN_PATH = '/latest/api/token';
export const INSTANCE_ACTION_PATH = '/latest/meta-data/spot/instance-action';
export const TOKEN_TTL_HEADER = 'X-aws-ec2-metadata-token-ttl-seconds';
export const TOKEN_HEADER = 'X-aws-ec2-metadata-token';
const TOKEN_TTL_SECONDS = 21_600;

/**
 * Reads the answer to `GET …/spot/instance-action`: null when there is no notice (404), the notice when there
 * is one (200). Throws on any other status, and on a 200 whose body is not the JSON AWS sends, so a wrong
 * metadata address that answers 200 to everything cannot take the agent down.
 */
export function parseInstanceAction(status: number, body: string): SpotNotice | null {
  if (status === 404) return null;
  if (status !== 200) throw new Error(`the metadata service answered ${status} for the spot instance action`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new Error(`the spot instance action is not JSON: ${JSON.stringify(body.slice(0, 100))}`);
  }
  const record = typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {};
  const { action, time } = record;
  if (typeof action !== 'string' || action === '') {
    throw new Error(`the spot instance action has no action: ${JSON.stringify(body.slice(0, 100))}`);
  }
  return typeof time === 'string' ? { action, time } : { action };
}

export interface InterruptionWatchOptions {
  /** Base address of the metadata service, e.g. http://169.254.169.254. */
  baseUrl: string;
  /** Time between two checks. Default 5000 ms. */
  pollMs?: number;
  /** How long one request may take. Default 2000 ms. */
  requestTimeoutMs?: number;
  /** Called once, with the first notice seen; polling stops then. */
  onNotice: (notice: SpotNotice) => void;
  log: (line: string) => void;
}

/**
 * Polls for a spot interruption notice. Failures (no metadata service, a timeout) are logged once per streak
 * of failures and otherwise ignored: off AWS there is nothing to watch, and a hiccup must not stop the agent.
 */
export class InterruptionWatch {
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private noticed = false;
  private failing = false;
  private token: { value: string; until: number } | undefined;
  private inFlight = new AbortController();
  private readonly baseUrl: string;
  private readonly pollMs: number;
  private readonly requestTimeoutMs: number;

  constructor(private readonly options: InterruptionWatchOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.pollMs = options.pollMs ?? 5_000;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 2_000;
  }

  /** Checks at once, then every `pollMs`, until a notice is seen or stop() is called. */
  start(): void {
    if (this.running || this.noticed) return;
    this.running = true;
    this.inFlight = new AbortController();
    void this.loop();
  }

  stop(): void {
    this.running = false;
    clearTimeout(this.timer);
    this.inFlight.abort();
  }

  /** One check: the notice, or null when there is none. Throws when the metadata service cannot be read. */
  async check(): Promise<SpotNotice | null> {
    let token = await this.sessionToken();
    let response = await this.request(INSTANCE_ACTION_PATH, { headers: { [TOKEN_HEADER]: token } });
    if (response.status === 401) {
      // The token expired or the service restarted: get a new one and ask again, once.
      this.token = undefined;
      token = await this.sessionToken();
      response = await this.request(INSTANCE_ACTION_PATH, { headers: { [TOKEN_HEADER]: token } });
    }
    return parseInstanceAction(response.status, await response.text());
  }

  private async loop(): Promise<void> {
    if (!this.running) return;
    try {
      const notice = await this.check();
      if (this.failing) this.options.log('the metadata service answers again');
      this.failing = false;
      if (notice && this.running) {
        this.noticed = true;
        this.stop();
        this.options.onNotice(notice);
        return;
      }
    } catch (error) {
      if (!this.running) return;
      if (!this.failing) {
        this.options.log(`cannot read spot interruption notices from ${this.baseUrl} (${describe(error)}); will keep trying quietly`);
      }
      this.failing = true;
    }
    if (!this.running) return;
    this.timer = setTimeout(() => void this.loop(), this.pollMs);
    this.timer.unref();
  }

  private async sessionToken(): Promise<string> {
    if (this.token && this.token.until > Date.now()) return this.token.value;
    const response = await this.request(TOKEN_PATH, { method: 'PUT', headers: { [TOKEN_TTL_HEADER]: String(TOKEN_TTL_SECONDS) } });
    const body = await response.text();
    if (response.status !== 200 || body === '') throw new Error(`the metadata service answered ${response.status} for a session token`);
    // Renewed well before it expires, so a check never goes out with a token about to lapse.
    this.token = { value: body.trim(), until: Date.now() + (TOKEN_TTL_SECONDS / 2) * 1000 };
    return this.token.value;
  }

  private request(path: string, init: RequestInit): Promise<Response> {
    const signal = AbortSignal.any([this.inFlight.signal, AbortSignal.timeout(this.requestTimeoutMs)]);
    return fetch(`${this.baseUrl}${path}`, { ...init, signal });
  }
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = (error as { cause?: unknown }).cause;
  return cause instanceof Error ? `${error.message}: ${cause.message}` : error.message;
}
