import type { EnvironmentSpec } from '@katapult/core';
import { basename, isCondaFile, shellQuote, STAGING_DIR } from './shell.js';

export const CONDA_ENV = '/opt/conda/envs/katapult';
const MICROMAMBA_URL = 'https://micro.mamba.pm/api/micromamba/linux-64/latest';

/**
 * conda through micromamba, into one env that comes first on PATH. Channels keep their order (it is conda's
 * priority); none given means conda-forge, since micromamba ships without the `defaults` channel. When pip
 * packages are also wanted, pip is added to the env and they are installed into it (the original's rule).
 */
export function condaLayer(env: EnvironmentSpec): string[] {
  if (env.conda.length === 0) return [];
  const channels = (env.condaChannels.length > 0 ? env.condaChannels : ['conda-forge']).map((c) => `-c ${shellQuote(c)}`).join(' ');
  const file = env.conda.find(isCondaFile);
  const lines = [
    'RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends bzip2 ca-certificates curl && rm -rf /var/lib/apt/lists/* \\',
    `    && curl -fsSL ${MICROMAMBA_URL} | tar -xj -C /usr/local bin/micromamba`,
    'ENV MAMBA_ROOT_PREFIX=/opt/conda',
  ];
  if (file) {
    lines.push(`COPY ${file} ${STAGING_DIR}/${basename(file)}`);
    lines.push(`RUN micromamba create -y -p ${CONDA_ENV} ${channels} -f ${STAGING_DIR}/${basename(file)}${env.pypi.length > 0 ? ' pip' : ''} && micromamba clean -a -y`);
  } else {
    const packages = [...env.conda, ...(env.pypi.length > 0 && !env.conda.includes('pip') ? ['pip'] : [])];
    lines.push(`RUN micromamba create -y -p ${CONDA_ENV} ${channels} ${packages.map(shellQuote).join(' ')} && micromamba clean -a -y`);
  }
  lines.push(`ENV PATH=${CONDA_ENV}/bin:$PATH`);
  return lines;
}
