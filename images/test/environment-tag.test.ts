import { describe, expect, it } from 'vitest';
import type { EnvironmentSpec } from '@katapult/core';
import { environmentTag } from '../src/index.js';

const spec: EnvironmentSpec = {
  name: 'science',
  command: 'setup.sh',
  aptget: ['curl', 'jq'],
  conda: [],
  condaChannels: [],
  pypi: ['requirements.txt', 'numpy'],
  julia: [],
};
const files = { 'requirements.txt': 'kpdemo==1.0.0\n', 'setup.sh': 'echo hi\n' };
const tag = (patch: Partial<EnvironmentSpec> = {}, overrides: { base?: string; files?: Record<string, string> } = {}) =>
  environmentTag({ env: { ...spec, ...patch }, baseImageDigest: overrides.base ?? 'sha256:aaa', files: overrides.files ?? files });

describe('environment image tags', () => {
  it('are stable: the same spec, reordered keys or packages, or another name give the same tag', () => {
    expect(tag()).toMatch(/^[0-9a-f]{24}$/);
    expect(tag()).toBe(tag());
    const reordered = Object.fromEntries(Object.entries(spec).reverse()) as EnvironmentSpec;
    expect(environmentTag({ env: reordered, baseImageDigest: 'sha256:aaa', files: { 'setup.sh': 'echo hi\n', 'requirements.txt': 'kpdemo==1.0.0\n' } })).toBe(tag());
    expect(tag({ aptget: ['jq', 'curl'], pypi: ['numpy', 'requirements.txt'] })).toBe(tag());
    expect(tag({ name: 'renamed' })).toBe(tag());
  });

  it('change with anything that changes the image', () => {
    expect(tag({}, { files: { ...files, 'requirements.txt': 'kpdemo==1.0.1\n' } })).not.toBe(tag());
    expect(tag({}, { base: 'sha256:bbb' })).not.toBe(tag());
    expect(tag({ aptget: ['curl'] })).not.toBe(tag());
    expect(tag({ command: 'other.sh' })).not.toBe(tag());
    expect(tag({ conda: ['x'], condaChannels: ['a', 'b'] })).not.toBe(tag({ conda: ['x'], condaChannels: ['b', 'a'] }));
  });
});
