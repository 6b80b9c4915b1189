import type { EnvironmentSpec } from '@katapult/core';
import { aptFragment } from './apt.js';
import { checkEnvironment } from './check.js';
import { commandFragment } from './command.js';
import { condaFragment } from './conda.js';
import { referencedFiles } from './forms.js';
import { STEP_KINDS, type Fragment, type StepKind } from './fragment.js';
import { juliaFragment } from './julia.js';
import { normalizeEnvironment, type EnvironmentRecipe } from './normalize.js';
import { pipFragment } from './pip.js';
import { userFragment } from './user.js';

export { referencedFiles } from './forms.js';
export type { StepKind } from './fragment.js';

/** Bumped whenever a recipe changes what it generates, so images built by an older recipe are not reused. */
export const RECIPE_VERSION = 4;

export interface EnvironmentPlan {
  dockerfile: string;
  steps: { kind: StepKind; description: string }[];
  /** Project-relative files the build context must hold, at those same paths. */
  files: string[];
}

const STEP_MARKER = '# katapult-step: ';

// From the least to the most often changed, so editing the setup command reuses every layer above it. The job
// user comes after everything that installs as root.
const FRAGMENTS: Record<StepKind, (env: EnvironmentRecipe) => Fragment | undefined> = {
  apt: aptFragment,
  conda: condaFragment,
  pip: pipFragment,
  julia: juliaFragment,
  command: commandFragment,
  user: userFragment,
};

/** Throws KP_ENV_SPEC_INVALID (bad input) for a spec no Dockerfile can express. */
export function planEnvironmentImage(env: EnvironmentSpec, baseImage: string): EnvironmentPlan {
  checkEnvironment(env);
  const recipe = normalizeEnvironment(env);
  const steps = STEP_KINDS.flatMap((kind) => {
    const fragment = FRAGMENTS[kind](recipe);
    return fragment ? [{ kind, ...fragment }] : [];
  });
  const lines = [`FROM ${baseImage}`, ...steps.flatMap(({ kind, lines: body }) => [`${STEP_MARKER}${kind}`, ...body])];
  return {
    dockerfile: `${lines.join('\n')}\n`,
    steps: steps.map(({ kind, description }) => ({ kind, description })),
    files: referencedFiles(recipe),
  };
}

/** The step that docker's "Step N/M" belongs to (N is 1-based and counts instructions); undefined for FROM. */
export function stepOfInstruction(dockerfile: string, instruction: number): StepKind | undefined {
  let count = 0;
  let current: StepKind | undefined;
  for (const line of dockerfile.split('\n')) {
    if (line.startsWith(STEP_MARKER)) current = STEP_KINDS.find((kind) => kind === line.slice(STEP_MARKER.length));
    else if (/^[A-Z]+ /.test(line)) {
      count += 1;
      if (count === instruction) return current;
    }
  }
  return undefined;
}
