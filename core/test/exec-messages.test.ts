import { describe, expect, it } from 'vitest';
import { agentPermissions, clusterNames, execInputCodec, execOutputCodec, execRequestCodec } from '../src/index.js';

const names = clusterNames('local');

/** A NATS subject pattern matched as nats-server does: `*` one token, `>` the rest. */
function matches(pattern: string, subject: string): boolean {
  const want = pattern.split('.');
  const got = subject.split('.');
  for (let i = 0; i < want.length; i += 1) {
    if (want[i] === '>') return got.length > i;
    if (got[i] === undefined || (want[i] !== '*' && want[i] !== got[i])) return false;
  }
  return want.length === got.length;
}
const allowed = (patterns: string[], subject: string) => patterns.some((pattern) => matches(pattern, subject));

describe('exec over NATS', () => {
  it('lets an agent hear only its own exec requests and sessions, and start none', () => {
    const mine = agentPermissions(names, 'local-1-aaaa');
    const session = '0123456789abcdef';
    expect(allowed(mine.subscribe, names.execStartSubject('local-1-aaaa'))).toBe(true);
    expect(allowed(mine.subscribe, names.execInputSubject('local-1-aaaa', session))).toBe(true);
    expect(allowed(mine.publish, names.execOutputSubject('local-1-aaaa', session))).toBe(true);
    // Another agent's requests, input and output: neither heard nor forged.
    expect(allowed(mine.subscribe, names.execStartSubject('local-2-bbbb'))).toBe(false);
    expect(allowed(mine.subscribe, names.execInputSubject('local-2-bbbb', session))).toBe(false);
    expect(allowed(mine.subscribe, names.execOutputSubject('local-2-bbbb', session))).toBe(false);
    expect(allowed(mine.publish, names.execOutputSubject('local-2-bbbb', session))).toBe(false);
    // No agent may ask for an exec, not even in its own jobs, nor type into a session.
    expect(allowed(mine.publish, names.execStartSubject('local-1-aaaa'))).toBe(false);
    expect(allowed(mine.publish, names.execStartSubject('local-2-bbbb'))).toBe(false);
    expect(allowed(mine.publish, names.execInputSubject('local-1-aaaa', session))).toBe(false);
  });

  it('keeps one agent prefix apart from another that starts with the same letters', () => {
    expect(allowed(agentPermissions(names, 'local-1').subscribe, names.execStartSubject('local-10'))).toBe(false);
  });

  it('decodes what it encodes, and names what is wrong in a bad message', () => {
    const request = {
      v: 1 as const,
      session: 'ab'.repeat(8),
      runId: 'r-1',
      jobId: 'sleeper',
      attempt: 1,
      command: ['sh', '-c', 'exit 7'],
      tty: false,
      by: 'me@here',
    };
    expect(execRequestCodec.decode(execRequestCodec.encode(request))).toEqual({ ok: true, value: request });
    expect(execRequestCodec.decode(execRequestCodec.encode({ ...request, session: '../x' }))).toEqual({
      ok: false,
      error: 'exec request: /session must be 16 to 64 hex digits, got "../x"',
    });
    expect(execInputCodec.decode(new TextEncoder().encode('{"v":1,"type":"resize","cols":0,"rows":10}')).ok).toBe(false);
    expect(execOutputCodec.decode(execOutputCodec.encode({ v: 1, type: 'exit', exitCode: 7 }))).toEqual({
      ok: true,
      value: { v: 1, type: 'exit', exitCode: 7 },
    });
  });
});
