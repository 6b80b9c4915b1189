import { ExitCode, KatapultError, type EnvironmentSpec } from '@katapult/core';
import { isCondaFile, isRequirementsFile } from './forms.js';
import { stagedPath } from './shell.js';

const CONFIG_KEYS = {
  aptget: 'env_aptget',
  conda: 'env_conda',
  condaChannels: 'env_conda_channels',
  pypi: 'env_pypi',
  julia: 'env_julia',
} as const;

/** Specs no recipe can express fail here, naming the config key, rather than midway through a docker build. */
export function checkEnvironment(env: EnvironmentSpec): void {
  const fail = (message: string): never => {
    throw new KatapultError('KP_ENV_SPEC_INVALID', `environment "${env.name}": ${message}`, { exitCode: ExitCode.badInput });
  };
  for (const [field, key] of Object.entries(CONFIG_KEYS) as [keyof typeof CONFIG_KEYS, string][]) {
    for (const entry of env[field]) {
      // A line break would end the Dockerfile instruction and start another one.
      if (entry.trim() === '' || /[\r\n\0]/.test(entry)) fail(`${key} entry ${JSON.stringify(entry)} is empty or spans several lines`);
    }
  }
  if (env.command !== null && env.command.includes('\0')) fail('command contains a NUL byte');
  // It becomes the Dockerfile's FROM line: one word, a reference such as host:port/name:tag or name@sha256:….
  if (env.image !== undefined && !/^[a-z0-9][a-z0-9._:/@-]*$/i.test(env.image))
    fail(`image ${JSON.stringify(env.image)} is not an image reference such as host:port/name:tag`);
  if (env.conda.filter(isCondaFile).length > 1) fail('env_conda names more than one environment file; micromamba reads only one');
  const staged = [...env.conda.filter(isCondaFile), ...new Set(env.pypi.filter(isRequirementsFile))].map(stagedPath);
  const clash = staged.find((path, i) => staged.indexOf(path) !== i);
  if (clash) fail(`two referenced files share the name ${clash.split('/').at(-1) ?? clash}; rename one`);
}
