import type { JobSpec } from './run-spec.js';
import { shellQuote } from './shell.js';

/**
 * A job runs in its own work folder, the container's working directory. The files it names are staged there at
 * the paths they have in the project folder, so a script finds `data/input.dat` where it would on the user's
 * machine when run from the project folder; output files are collected from the same place.
 */
export const JOB_WORKDIR = '/work';

export interface ScriptCall {
  script: string;
  /** The rest of `run_script`, passed to the script as written (the shell splits it, as the original's did). */
  args: string;
}

/** `run_script: "examples/run_remote.py 1 10"` is a script path followed by its arguments. */
export function splitRunScript(runScript: string): ScriptCall {
  const trimmed = runScript.trim();
  const end = trimmed.search(/\s/);
  return end === -1 ? { script: trimmed, args: '' } : { script: trimmed.slice(0, end), args: trimmed.slice(end).trim() };
}

/**
 * The shell command a job runs. `run_script` wins over `run_command` (as in the original): `.py` runs with the
 * environment's python, `.jl` with julia, anything else is executed directly.
 */
export function jobCommand(job: Pick<JobSpec, 'runScript' | 'runCommand'>): string {
  if (!job.runScript) return job.runCommand ?? '';
  const { args, ...call } = splitRunScript(job.runScript);
  const script = normalizeRelative(call.script);
  const program = script.endsWith('.py')
    ? `python3 ${shellQuote(script)}`
    : script.endsWith('.jl')
      ? `julia ${shellQuote(script)}`
      : shellQuote(`./${script}`);
  return args ? `${program} ${args}` : program;
}

export type JobFileKind = 'script' | 'upload' | 'input';

export interface JobFilePath {
  path: string;
  kind: JobFileKind;
}

/** Every project file a job needs in its work folder, each once: its script, then uploads, then inputs. */
export function jobInputPaths(job: Pick<JobSpec, 'runScript' | 'uploadFiles' | 'inputFiles'>): JobFilePath[] {
  const seen = new Set<string>();
  const files: JobFilePath[] = [];
  const add = (path: string, kind: JobFileKind) => {
    const key = normalizeRelative(path);
    if (seen.has(key)) return;
    seen.add(key);
    files.push({ path: key, kind });
  };
  if (job.runScript) add(splitRunScript(job.runScript).script, 'script');
  for (const path of job.uploadFiles) add(path, 'upload');
  for (const path of job.inputFiles) add(path, 'input');
  return files;
}

/** `./data//in.txt` and `data/in.txt` are one file; paths are assumed checked by checkRelativePath. */
export function normalizeRelative(path: string): string {
  const parts: string[] = [];
  for (const segment of path.split(/[\\/]+/)) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') parts.pop();
    else parts.push(segment);
  }
  return parts.join('/');
}
