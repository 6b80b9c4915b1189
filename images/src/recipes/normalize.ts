import type { EnvironmentSpec } from '@katapult/core';

/** What decides an environment's image: the spec without its name. */
export type EnvironmentRecipe = Omit<EnvironmentSpec, 'name'>;

const unordered = (items: readonly string[]) => [...new Set(items)].sort();

/**
 * The one canonical form both the Dockerfile and the tag are made from, so an equal tag always means an equal
 * Dockerfile. apt, conda, pip and julia each resolve their whole list at once, so order and repeats are sorted
 * away (several requirements files are resolved together too). Conda channels keep their order: it is conda's
 * priority. No channel means conda-forge, since micromamba ships without the original's `defaults`.
 */
export function normalizeEnvironment(env: EnvironmentRecipe): EnvironmentRecipe {
  const conda = unordered(env.conda);
  return {
    // Only when given: the recipes (and tags) of environments on the base image stay what they were.
    ...(env.image ? { image: env.image } : {}),
    command: env.command !== null && env.command.trim() !== '' ? env.command : null,
    aptget: unordered(env.aptget),
    conda,
    condaChannels: conda.length === 0 ? [] : env.condaChannels.length > 0 ? [...env.condaChannels] : ['conda-forge'],
    pypi: unordered(env.pypi),
    julia: unordered(env.julia),
  };
}
