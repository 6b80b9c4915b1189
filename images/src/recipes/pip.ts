import type { Fragment } from './fragment.js';
import { isRequirementsFile } from './forms.js';
import type { EnvironmentRecipe } from './normalize.js';
import { aptInstall, copyInstruction, shellQuote, stagedPath } from './shell.js';

export const VENV = '/opt/katapult/venv';

// pip reads these from the environment, where RUN sees build args: the index is chosen per build (a mirror,
// a local index offline) without changing the Dockerfile, hence without changing the image's tag.
const INDEX_ARGS = ['PIP_INDEX_URL', 'PIP_EXTRA_INDEX_URL', 'PIP_FIND_LINKS', 'PIP_TRUSTED_HOST'];

/**
 * pip requirements, into the conda env when there is one, else into a venv on Debian's python3. The venv gets
 * its pip from ensurepip (python3-venv brings the wheel), so Debian's python3-pip is not needed.
 */
export function pipFragment(env: EnvironmentRecipe): Fragment | undefined {
  if (env.pypi.length === 0) return undefined;
  const files = env.pypi.filter(isRequirementsFile);
  const packages = env.pypi.filter((entry) => !isRequirementsFile(entry));
  const lines: string[] = [];
  if (env.conda.length === 0) {
    const missing = ['python3', 'python3-venv'].filter((name) => !env.aptget.includes(name));
    if (missing.length > 0) lines.push(`RUN ${aptInstall(missing)} \\`, `    && python3 -m venv ${VENV}`);
    else lines.push(`RUN python3 -m venv ${VENV}`);
    lines.push(`ENV PATH=${VENV}/bin:$PATH`);
  }
  lines.push(...files.map((file) => copyInstruction(file, stagedPath(file))));
  lines.push(...INDEX_ARGS.map((name) => `ARG ${name}`));
  const args = [...files.map((file) => `-r ${shellQuote(stagedPath(file))}`), ...packages.map(shellQuote)];
  lines.push(`RUN pip install --no-cache-dir --disable-pip-version-check ${args.join(' ')}`);
  return {
    description: `pip install ${files
      .map((file) => `-r ${file}`)
      .concat(packages)
      .join(' ')}`,
    lines,
  };
}
