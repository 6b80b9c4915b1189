import { describe, expect, it } from 'vitest';
import { contentTag, parseImageRef, splitRegistryHost } from '../src/index.js';

describe('image references', () => {
  it('tells a registry port from a tag', () => {
    expect(parseImageRef('127.0.0.1:5000/katapult/node:abc')).toEqual({ repo: '127.0.0.1:5000/katapult/node', tag: 'abc' });
    expect(parseImageRef('127.0.0.1:5000/katapult/node')).toEqual({ repo: '127.0.0.1:5000/katapult/node', tag: 'latest' });
    expect(parseImageRef('katapult/base:bookworm')).toEqual({ repo: 'katapult/base', tag: 'bookworm' });
    expect(() => parseImageRef('a/b@sha256:00')).toThrow(expect.objectContaining({ code: 'KP_IMAGE_REF_INVALID' }));
  });

  it('requires a registry host for pushes', () => {
    expect(splitRegistryHost('127.0.0.1:5000/a/b')).toEqual({ host: '127.0.0.1:5000', path: 'a/b' });
    expect(splitRegistryHost('localhost/a')).toEqual({ host: 'localhost', path: 'a' });
    expect(() => splitRegistryHost('katapult/node')).toThrow(/names no registry host/);
  });

  it('derives a 12-hex content tag that changes with any input', () => {
    const tag = contentTag(['FROM x\n', 'sha256:1']);
    expect(tag).toMatch(/^[0-9a-f]{12}$/);
    expect(contentTag(['FROM x\n', 'sha256:1'])).toBe(tag);
    expect(contentTag(['FROM x\n', 'sha256:2'])).not.toBe(tag);
  });
});
