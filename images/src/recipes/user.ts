import { formatJobUser, JOB_USER, JOB_USER_LABEL, JOB_WORKDIR } from '@katapult/core';
import { CONDA_ROOT } from './conda.js';
import type { Fragment } from './fragment.js';
import { JULIA_DEPOT, JULIA_PREFIX } from './julia.js';
import type { EnvironmentRecipe } from './normalize.js';
import { VENV } from './pip.js';

/** What the earlier steps installed under /opt: the job user must be able to read and run all of it. */
function installedPrefixes(env: EnvironmentRecipe): string[] {
  return [
    ...(env.conda.length > 0 ? [CONDA_ROOT] : []),
    ...(env.pypi.length > 0 && env.conda.length === 0 ? [VENV] : []),
    ...(env.julia.length > 0 ? [JULIA_PREFIX, JULIA_DEPOT] : []),
  ];
}

/**
 * Last, after everything installed as root: the unprivileged user jobs run as, its work folder, and the label
 * that tells the agent to use it. Only the files that others cannot read (or folders they cannot enter) are
 * changed, since touching every file would copy the whole prefix into another layer. Julia needs a writable depot
 * first in its path (logs, compiled caches of anything added later), so the user's own comes before the shared
 * one, which stays read-only with its precompiled packages.
 */
export function userFragment(env: EnvironmentRecipe): Fragment {
  const { name, uid, gid, home } = JOB_USER;
  const prefixes = installedPrefixes(env);
  // An image of one's own may have its user of that id already (node's images have `node`, 1000:1000): it serves.
  const [group, user] = env.image
    ? [
        `(getent group ${gid} >/dev/null || groupadd --gid ${gid} ${name})`,
        `(getent passwd ${uid} >/dev/null || useradd --uid ${uid} --gid ${gid} --create-home --home-dir ${home} --shell /bin/sh ${name})`,
      ]
    : [`groupadd --gid ${gid} ${name}`, `useradd --uid ${uid} --gid ${gid} --create-home --home-dir ${home} --shell /bin/bash ${name}`];
  const lines = [
    `RUN ${group} \\`,
    `    && ${user} \\`,
    ...(prefixes.length > 0
      ? [`    && find ${prefixes.join(' ')} \\( ! -perm -o=r -o -type d ! -perm -o=x \\) -exec chmod o+rX {} + \\`]
      : []),
    `    && install -d -m 0700 -o ${uid} -g ${gid} ${JOB_WORKDIR}`,
    ...(env.julia.length > 0 ? [`ENV JULIA_DEPOT_PATH=${home}/.julia:${JULIA_DEPOT}`] : []),
    `LABEL ${JOB_USER_LABEL}=${formatJobUser(JOB_USER)}`,
  ];
  return { description: `user ${name} (${formatJobUser(JOB_USER)}) for jobs`, lines };
}
