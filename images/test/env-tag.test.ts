import { describe, expect, it } from 'vitest';
import type { EnvironmentSpec } from '@katapult/core';
import { environmentTag, planEnvironmentImage } from '../src/index.js';

const spec: EnvironmentSpec = {
  name: 'science',
  command: 'setup.sh',
  aptget: ['curl', 'jq'],
  conda: ['numpy', 'scipy'],
  condaChannels: ['bioconda', 'conda-forge'],
  pypi: ['requirements.txt', 'kpdemo==1.0.0'],
  julia: ['DataFrames', 'Wavelets'],
};
const files = { 'requirements.txt': 'kpdemo==1.0.0\n', 'setup.sh': new TextEncoder().encode('echo hi\n') };
const tag = (patch: Partial<EnvironmentSpec> = {}, options: { base?: string; files?: Record<string, Uint8Array | string> } = {}) =>
  environmentTag({ env: { ...spec, ...patch }, baseImageDigest: options.base ?? 'sha256:aaa', files: options.files ?? files });

describe('environment image tags', () => {
  it('are 24 hex digits, the same for the same spec', () => {
    expect(tag()).toMatch(/^[0-9a-f]{24}$/);
    expect(tag()).toBe(tag());
  });

  it('ignore key order, package order and repeats, and the name', () => {
    const reordered = Object.fromEntries(Object.entries(spec).reverse()) as EnvironmentSpec;
    const filesReordered = Object.fromEntries(Object.entries(files).reverse());
    expect(environmentTag({ env: reordered, baseImageDigest: 'sha256:aaa', files: filesReordered })).toBe(tag());
    expect(
      tag({
        aptget: ['jq', 'curl', 'jq'],
        conda: ['scipy', 'numpy'],
        pypi: ['kpdemo==1.0.0', 'requirements.txt'],
        julia: ['Wavelets', 'DataFrames'],
      }),
    ).toBe(tag());
    expect(tag({ name: 'renamed' })).toBe(tag());
    expect(tag({}, { files: { ...files, 'setup.sh': 'echo hi\n' } })).toBe(tag());
  });

  it('change with anything that changes the image', () => {
    const others = [
      tag({}, { files: { ...files, 'requirements.txt': 'kpdemo==1.0.1\n' } }),
      tag({}, { base: 'sha256:bbb' }),
      // An image of one's own: its reference, and its digest as the base's (a tag moved to a new image).
      tag({ image: 'registry.example/team/tools:1' }, { base: 'sha256:aaa' }),
      tag({ image: 'registry.example/team/tools:1' }, { base: 'sha256:ccc' }),
      tag({ condaChannels: ['conda-forge', 'bioconda'] }),
      tag({ aptget: ['curl'] }),
      tag({ pypi: ['requirements.txt'] }),
      tag({ julia: ['DataFrames'] }),
      tag({ command: 'echo other' }),
    ];
    expect(new Set([tag(), ...others]).size).toBe(others.length + 1);
  });

  it('are equal only when the Dockerfiles are', () => {
    const reshuffled = { ...spec, name: 'other', aptget: ['jq', 'curl'], julia: ['Wavelets', 'DataFrames'] };
    expect(tag(reshuffled)).toBe(tag());
    expect(planEnvironmentImage(reshuffled, 'base:1').dockerfile).toBe(planEnvironmentImage(spec, 'base:1').dockerfile);
  });
});
