import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { agentRecordCodec, assignmentCodec, jobReportCodec, logRecordCodec, stopRequestCodec, type MessageCodec } from '../src/index.js';
import { loadMessageCorpus } from './message-corpus.js';

const codecs: Record<string, MessageCodec<unknown>> = {
  assignment: assignmentCodec,
  report: jobReportCodec,
  stop: stopRequestCodec,
  agent: agentRecordCodec,
  log: logRecordCodec,
};
const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

describe('malformed NATS messages (core/test/fixtures/messages): each is refused with one line saying why', () => {
  const corpus = loadMessageCorpus();

  it('covers every codec', () => {
    expect(new Set(corpus.map((entry) => entry.codec))).toEqual(new Set(Object.keys(codecs)));
  });

  for (const entry of corpus) {
    it(entry.file, () => {
      const decoded = codecs[entry.codec]!.decode(entry.bytes);
      expect(decoded.ok).toBe(false);
      const error = decoded.ok ? '' : decoded.error;
      expect(error).toContain(entry.expect);
      expect(error).not.toMatch(/[\u0000-\u001f\u2028\u2029]/);
      expect(error.length).toBeLessThanOrEqual(300);
    });
  }
});

describe('well-formed messages still decode', () => {
  const object = `sha256-${'ab'.repeat(32)}`;
  const staged = (path: string) => ({ path, object, size: 1, executable: false, shared: true });
  const assignment = {
    v: 1,
    runId: 'r-corpus',
    jobId: 'job-1',
    attempt: 1,
    image: 'img',
    runCommand: 'true',
    cpus: 1,
    memoryBytes: 512 * 1024 * 1024,
    network: 'none',
    files: [staged('in.txt'), staged('data/deep/x.dat'), staged('..hidden'), staged('.config/a'), staged('dir/...')],
    outputFiles: ['results', 'out/a.txt'],
  };

  it('an assignment with nested, dotted (but not "." or "..") paths', () => {
    expect(assignmentCodec.decode(encode(assignment))).toEqual({ ok: true, value: assignment });
  });

  it('every other codec', () => {
    const samples: [string, unknown][] = [
      ['report', { v: 1, runId: 'r-corpus', jobId: 'job-1', attempt: 2, agentId: 'agent-1', type: 'exited', exitCode: 3, at: 1 }],
      ['stop', { v: 1, runId: 'r-corpus', jobId: 'job-1', attempt: 1 }],
      ['agent', { v: 1, agentId: 'agent-1', instanceId: 'i-1', cpus: 2, startedAt: 1, at: 2, running: [] }],
      ['log', { v: 1, attempt: 1, stream: 'stdout', line: 'x'.repeat(100_000), at: 1 }],
    ];
    for (const [name, value] of samples) expect(codecs[name]!.decode(encode(value))).toEqual({ ok: true, value });
  });

  it('the corpus files are the bytes the test reads', () => {
    const dir = join(import.meta.dirname, 'fixtures', 'messages');
    const first = readdirSync(dir).sort()[0]!;
    const raw = (JSON.parse(readFileSync(join(dir, first), 'utf8')) as { raw: string }).raw;
    expect(loadMessageCorpus().find((entry) => entry.file === first)?.bytes).toEqual(new TextEncoder().encode(raw));
  });
});
