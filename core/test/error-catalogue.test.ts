import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ERROR_CATALOGUE, ExitCode, httpStatusOf, isErrorCode, KatapultError, renderErrorsDoc, wireError } from '../src/index.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' || entry.name === 'dist' ? [] : sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** Every `KP_*` code written in a package's src, with the first file that writes it. */
function codesInSource(): Map<string, string> {
  const packages = readdirSync(repoRoot, { withFileTypes: true }).filter((entry) => entry.isDirectory() && entry.name !== 'node_modules');
  const found = new Map<string, string>();
  for (const pkg of packages) {
    const src = join(repoRoot, pkg.name, 'src');
    let files: string[];
    try {
      files = sourceFiles(src);
    } catch {
      continue;
    }
    for (const file of files) {
      for (const [code] of readFileSync(file, 'utf8').matchAll(/\bKP_[A-Z0-9_]*[A-Z0-9]\b/g)) {
        if (!found.has(code)) found.set(code, file.slice(repoRoot.length));
      }
    }
  }
  return found;
}

describe('the error catalogue', () => {
  it('holds every KP_* code the source tree uses', () => {
    const codes = codesInSource();
    expect(codes.size).toBeGreaterThan(50);
    const missing = [...codes].filter(([code]) => !isErrorCode(code)).map(([code, file]) => `${code} (${file})`);
    expect(missing).toEqual([]);
  });

  it('gives each code an exit code of 1, 2 or 3, an HTTP status and a one-line meaning', () => {
    for (const [code, entry] of Object.entries(ERROR_CATALOGUE)) {
      expect([ExitCode.jobFailed, ExitCode.badInput, ExitCode.infrastructure], code).toContain(entry.exitCode);
      expect(entry.meaning, code).toMatch(/^[^\n]{10,140}$/);
      // Bad input is the client's fault (4xx); the rest is the server's, except a refused token or size.
      if (code.endsWith('_NOT_FOUND')) expect(entry.httpStatus, code).toBe(404);
      else if (entry.exitCode === ExitCode.badInput) expect([400, 413], code).toContain(entry.httpStatus);
      else expect([500, 401], code).toContain(entry.httpStatus);
    }
  });

  it('is what docs/ERRORS.md says (regenerate it with pnpm run docs:errors)', () => {
    expect(readFileSync(join(repoRoot, 'docs', 'ERRORS.md'), 'utf8')).toBe(renderErrorsDoc());
  });

  it("gives an error the catalogue's exit code unless the site names another", () => {
    expect(new KatapultError('KP_USAGE', 'x').exitCode).toBe(ExitCode.badInput);
    expect(new KatapultError('KP_DOCKER_UNREACHABLE', 'x').exitCode).toBe(ExitCode.infrastructure);
    expect(new KatapultError('KP_JOB_FAILED', 'x').exitCode).toBe(ExitCode.jobFailed);
    expect(new KatapultError('KP_USAGE', 'x', { exitCode: ExitCode.infrastructure }).exitCode).toBe(ExitCode.infrastructure);
  });

  it('derives HTTP statuses from the code, and answers 500 for a code it does not know', () => {
    expect(httpStatusOf('KP_RUN_NOT_FOUND')).toBe(404);
    expect(httpStatusOf('KP_API_NO_IMAGE')).toBe(400);
    expect(httpStatusOf('KP_SECRETS_UNAVAILABLE')).toBe(500);
    expect(httpStatusOf('KP_FROM_A_NEWER_VERSION')).toBe(500);
  });

  it("carries a code sent by another process as sent, with the catalogue's exit code when it knows the code", () => {
    expect(wireError('KP_JOB_NOT_RUNNING', 'x').exitCode).toBe(ExitCode.badInput);
    const unknown = wireError('KP_FROM_A_NEWER_VERSION', 'x');
    expect([unknown.code, unknown.exitCode]).toEqual(['KP_FROM_A_NEWER_VERSION', ExitCode.infrastructure]);
  });
});
