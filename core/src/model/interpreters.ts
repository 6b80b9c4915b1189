import type { RawEnvironment } from '../config/schema.js';

/**
 * A `run_script` ending in `.py` runs with python3 and one in `.jl` with julia (see jobCommand). An environment
 * has python3 when it installs pip packages (into a venv on Debian's python3), conda packages, or a Debian
 * package of python3's; julia when it names Julia packages. A setup `command` or an image of one's own may
 * bring either: they are taken at their word. Otherwise the job would fail every attempt with exit code 127.
 */
export interface MissingInterpreter {
  interpreter: 'python3' | 'julia';
  /** The key that adds it, as the config error says. */
  fix: string;
}

export function missingInterpreter(
  script: string,
  env: Pick<RawEnvironment, 'command' | 'env_aptget' | 'env_conda' | 'env_pypi' | 'env_julia'> & { image?: string | null },
): MissingInterpreter | undefined {
  const list = (value: string | string[] | null | undefined) =>
    value === null || value === undefined ? [] : typeof value === 'string' ? [value] : value;
  if (env.command || env.image) return undefined;
  if (script.endsWith('.py')) {
    const apt = list(env.env_aptget).some((name) => /^python3($|[.-])|^python-is-python3$/.test(name));
    if (apt || list(env.env_pypi).length > 0 || list(env.env_conda).length > 0) return undefined;
    return { interpreter: 'python3', fix: 'env_aptget: python3 (or env_pypi with the packages it imports)' };
  }
  if (script.endsWith('.jl')) {
    if (list(env.env_julia).length > 0 || list(env.env_aptget).includes('julia')) return undefined;
    return { interpreter: 'julia', fix: 'env_julia with the Julia packages it uses' };
  }
  return undefined;
}
