import type { EnvironmentSpec } from '@katapult/core';
import { aptLayer } from './apt.js';
import { commandLayer } from './command.js';
import { condaLayer } from './conda.js';
import { juliaLayer } from './julia.js';
import { pipLayer } from './pip.js';
import { isCondaFile, isRequirementsFile, isScript } from './shell.js';

/** Bumped whenever a recipe changes what it generates, so images built by the old recipe are not reused. */
export const RECIPE_VERSION = 1;

export type StepKind = 'apt' | 'conda' | 'pip' | 'julia' | 'command';

export interface EnvironmentPlan {
  dockerfile: string;
  steps: StepKind[];
  /** Project-relative files the build context must hold. */
  files: string[];
}

const STEP_MARKER = '# katapult-step: ';

export function referencedFiles(env: EnvironmentSpec): string[] {
  return [
    ...env.conda.filter(isCondaFile),
    ...env.pypi.filter(isRequirementsFile),
    ...(env.command && isScript(env.command) ? [env.command] : []),
  ];
}

/** One layer group per kind, in a fixed order from the least to the most often changed. */
export function planEnvironmentImage(env: EnvironmentSpec, baseImage: string): EnvironmentPlan {
  const groups: [StepKind, string[]][] = [
    ['apt', aptLayer(env.aptget)],
    ['conda', condaLayer(env)],
    ['pip', pipLayer(env)],
    ['julia', juliaLayer(env.julia)],
    ['command', commandLayer(env.command)],
  ];
  const present = groups.filter(([, lines]) => lines.length > 0);
  const lines = [`FROM ${baseImage}`, ...present.flatMap(([kind, body]) => [`${STEP_MARKER}${kind}`, ...body])];
  return { dockerfile: `${lines.join('\n')}\n`, steps: present.map(([kind]) => kind), files: referencedFiles(env) };
}

/** Which step docker's "Step N/M" (1-based, counting instructions) belongs to. */
export function stepOfInstruction(dockerfile: string, instruction: number): StepKind | undefined {
  let count = 0;
  let current: StepKind | undefined;
  for (const line of dockerfile.split('\n')) {
    if (line.startsWith(STEP_MARKER)) current = line.slice(STEP_MARKER.length) as StepKind;
    else if (/^[A-Z]+ /.test(line)) {
      count += 1;
      if (count === instruction) return current;
    }
  }
  return undefined;
}
