import type { EnvironmentSpec } from '@katapult/core';

/** An environment spec with nothing in it but what `patch` sets. */
export function environmentSpec(patch: Partial<EnvironmentSpec> = {}): EnvironmentSpec {
  return { name: 'env', command: null, aptget: [], conda: [], condaChannels: [], pypi: [], julia: [], ...patch };
}
