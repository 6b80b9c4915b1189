import type { EnvironmentSpec } from '@katapult/core';

import { isCondaFile, isRequirementsFile, scriptPath } from '@katapult/core';

// Shared with validate, which checks these files before any build.
export { isCondaFile, isRequirementsFile, scriptPath };

/** Project-relative files the spec names, which the build context must hold at the same paths. */
export function referencedFiles(env: Pick<EnvironmentSpec, 'conda' | 'pypi' | 'command'>): string[] {
  const script = scriptPath(env.command);
  return [...new Set([...env.conda.filter(isCondaFile), ...env.pypi.filter(isRequirementsFile), ...(script ? [script] : [])])];
}
