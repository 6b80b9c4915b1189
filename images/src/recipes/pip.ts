import type { EnvironmentSpec } from '@katapult/core';
import { basename, isRequirementsFile, shellQuote, STAGING_DIR } from './shell.js';

export const VENV = '/opt/katapult/venv';

/**
 * pip requirements, into the conda env when there is one, else into a venv on Debian's python3. The index
 * is taken from build args (pip reads PIP_INDEX_URL and friends from the environment), which are not part of
 * the image's tag: the same requirements give the same image whichever mirror served them.
 */
export function pipLayer(env: EnvironmentSpec): string[] {
  if (env.pypi.length === 0) return [];
  const lines: string[] = [];
  if (env.conda.length === 0) {
    lines.push(
      'RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 python3-venv && rm -rf /var/lib/apt/lists/* \\',
      `    && python3 -m venv ${VENV}`,
      `ENV PATH=${VENV}/bin:$PATH`,
    );
  }
  lines.push('ARG PIP_INDEX_URL', 'ARG PIP_EXTRA_INDEX_URL', 'ARG PIP_FIND_LINKS', 'ARG PIP_TRUSTED_HOST');
  const file = env.pypi.find(isRequirementsFile);
  const packages = env.pypi.filter((entry) => !isRequirementsFile(entry));
  if (file) lines.push(`COPY ${file} ${STAGING_DIR}/${basename(file)}`);
  const args = [...(file ? [`-r ${STAGING_DIR}/${basename(file)}`] : []), ...packages.map(shellQuote)].join(' ');
  lines.push(`RUN pip install --no-cache-dir --disable-pip-version-check ${args}`);
  return lines;
}
