/**
 * Every error Katapult raises on purpose carries a stable code (KP_<AREA>_<WHAT>), the exit code the CLI
 * should end with, and where known the file and field path at fault. Errors cross HTTP and NATS as
 * `{code, message, path, hint}` (see toErrorBody), never as bare strings to be matched. Only codes of the
 * catalogue (errors/catalogue.ts) type-check, and a code's exit code is the catalogue's unless a site says otherwise.
 */
import { type ErrorCode, exitCodeOf, isErrorCode } from './errors/catalogue.js';
import { ExitCode } from './errors/exit-code.js';

export { ExitCode } from './errors/exit-code.js';
export { ERROR_CATALOGUE, type ErrorCode, type ErrorCodeEntry, exitCodeOf, httpStatusOf, isErrorCode } from './errors/catalogue.js';

export interface KatapultErrorOptions {
  path?: string;
  hint?: string;
  exitCode?: ExitCode;
  cause?: unknown;
}

export class KatapultError extends Error {
  readonly code: ErrorCode;
  readonly path: string | undefined;
  readonly hint: string | undefined;
  readonly exitCode: ExitCode;

  constructor(code: ErrorCode, message: string, options: KatapultErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'KatapultError';
    this.code = code;
    this.path = options.path;
    this.hint = options.hint;
    this.exitCode = options.exitCode ?? exitCodeOf(code);
  }

  /** The one line a user sees: code, then message, then the hint if any. */
  toLine(): string {
    return [this.code, this.message, this.hint ? `(${this.hint})` : ''].filter(Boolean).join(' ');
  }
}

/** One problem found in a config file, located by field path and, when known, line and column. */
export interface ConfigIssue {
  /** A problem with a file the config names has its own code (KP_FILE_MISSING); others have the error's. */
  code?: ErrorCode;
  path: string;
  message: string;
  line?: number;
  col?: number;
}

export class ConfigError extends KatapultError {
  readonly file: string;
  readonly issues: readonly ConfigIssue[];

  constructor(file: string, issues: readonly ConfigIssue[], code: ErrorCode = 'KP_CONFIG_INVALID') {
    const lines = issues.map((issue) => formatConfigIssue(file, issue));
    super(code, lines.join('\n'), { exitCode: ExitCode.badInput, path: issues[0]?.path });
    this.name = 'ConfigError';
    this.file = file;
    this.issues = issues;
  }

  /** One line per issue, each naming the file, the position, the field path and what is wrong. */
  lines(): string[] {
    return this.issues.map((issue) => `${issue.code ?? this.code} ${formatConfigIssue(this.file, issue)}`);
  }

  override toLine(): string {
    return this.lines().join('\n');
  }
}

export function formatConfigIssue(file: string, issue: ConfigIssue): string {
  const where = issue.line === undefined ? file : `${file}:${issue.line}:${issue.col ?? 1}`;
  return issue.path ? `${where} ${issue.path}: ${issue.message}` : `${where}: ${issue.message}`;
}

export interface ErrorBody {
  code: string;
  message: string;
  path?: string;
  hint?: string;
}

export function toErrorBody(error: unknown): ErrorBody {
  if (error instanceof KatapultError) {
    return {
      code: error.code,
      message: error.message,
      ...(error.path === undefined ? {} : { path: error.path }),
      ...(error.hint === undefined ? {} : { hint: error.hint }),
    };
  }
  return { code: 'KP_INTERNAL', message: error instanceof Error ? error.message : String(error) };
}

export function fromErrorBody(body: ErrorBody, exitCode: ExitCode = ExitCode.infrastructure): KatapultError {
  return wireError(body.code, body.message, {
    exitCode,
    ...(body.path === undefined ? {} : { path: body.path }),
    ...(body.hint === undefined ? {} : { hint: body.hint }),
  });
}

/**
 * An error another process sent as a code and a message. A process of another version may send a code this build
 * does not know: it is carried as sent, with exit code 3 unless the caller knows better.
 */
export function wireError(code: string, message: string, options: KatapultErrorOptions = {}): KatapultError {
  const exitCode = options.exitCode ?? (isErrorCode(code) ? exitCodeOf(code) : ExitCode.infrastructure);
  return new KatapultError(code as ErrorCode, message, { ...options, exitCode });
}
