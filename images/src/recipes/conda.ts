import type { Fragment } from './fragment.js';
import { isCondaFile } from './forms.js';
import type { EnvironmentRecipe } from './normalize.js';
import { aptInstall, copyInstruction, shellQuote, stagedPath } from './shell.js';

export const CONDA_ROOT = '/opt/conda';
export const CONDA_ENV = `${CONDA_ROOT}/envs/katapult`;
const MICROMAMBA_URL = 'https://micro.mamba.pm/api/micromamba/linux-64/latest';

/**
 * conda through micromamba (a static binary), into one env that comes first on PATH. Packages given next to
 * an environment file are added to it; channels given on the command line come before the file's own. When pip
 * packages are wanted too, pip joins the env and they are installed into it, as the original did.
 */
export function condaFragment(env: EnvironmentRecipe): Fragment | undefined {
  if (env.conda.length === 0) return undefined;
  const file = env.conda.find(isCondaFile);
  const packages = env.conda.filter((entry) => !isCondaFile(entry));
  if (env.pypi.length > 0 && !packages.some((spec) => /^([\w.-]+::)?pip(?![\w.-])/.test(spec))) packages.push('pip');
  const args = [
    ...env.condaChannels.map((channel) => `-c ${shellQuote(channel)}`),
    ...(file ? [`-f ${shellQuote(stagedPath(file))}`] : []),
    ...packages.map(shellQuote),
  ];
  return {
    description: `micromamba create ${[...(file ? [file] : []), ...packages].join(' ')} from ${env.condaChannels.join(', ')}`,
    lines: [
      `RUN ${aptInstall(['bzip2', 'ca-certificates', 'curl'])} \\`,
      `    && curl -fsSL ${MICROMAMBA_URL} | tar -xj --no-same-owner -C /usr/local bin/micromamba`,
      `ENV MAMBA_ROOT_PREFIX=${CONDA_ROOT}`,
      ...(file ? [copyInstruction(file, stagedPath(file))] : []),
      `RUN micromamba create -y -p ${CONDA_ENV} ${args.join(' ')} && micromamba clean -a -y`,
      `ENV PATH=${CONDA_ENV}/bin:$PATH`,
    ],
  };
}
