import { isCondaFile, isRequirementsFile, scriptPath } from '../model/environment-files.js';
import { splitRunScript } from '../model/job-files.js';
import { formatPath, parseConfigText, type FieldPath } from './parse.js';

/** A project file a config names, with the field that names it and where that field is written. */
export interface FileReference {
  path: string;
  /** e.g. jobs[2].upload_files[0] */
  field: string;
  line?: number;
  col?: number;
}

const FILE_FIELDS = ['upload_files', 'input_files'] as const;

/**
 * Every project file the config text names (a job's run_script, upload_files, input_files; an environment's
 * requirements.txt, environment.yml, setup script), read from the raw document so
 * it works even when other keys are wrong: validate reports file problems beside schema errors, each at its key.
 */
export function jobFileReferences(text: string, file: string): FileReference[] {
  const parsed = parseConfigText(text, file);
  const root = parsed.value as { jobs?: unknown } | null;
  const jobs = root && typeof root === 'object' && Array.isArray(root.jobs) ? (root.jobs as unknown[]) : [];
  const references: FileReference[] = [];
  const add = (path: string, field: FieldPath) => references.push({ path, field: formatPath(field), ...parsed.locate(field) });
  jobs.forEach((job, index) => {
    if (!job || typeof job !== 'object') return;
    const fields = job as Record<string, unknown>;
    const script = fields['run_script'];
    if (typeof script === 'string' && script.trim() !== '') add(splitRunScript(script).script, ['jobs', index, 'run_script']);
    for (const key of FILE_FIELDS) {
      const value = fields[key];
      if (typeof value === 'string') add(value, ['jobs', index, key]);
      else if (Array.isArray(value)) value.forEach((item, at) => typeof item === 'string' && add(item, ['jobs', index, key, at]));
    }
  });
  const environments =
    root && typeof root === 'object' && Array.isArray((root as { environments?: unknown }).environments)
      ? (root as { environments: unknown[] }).environments
      : [];
  environments.forEach((env, index) => {
    if (!env || typeof env !== 'object') return;
    const fields = env as Record<string, unknown>;
    const script = typeof fields['command'] === 'string' ? scriptPath(fields['command']) : undefined;
    if (script) add(script, ['environments', index, 'command']);
    for (const [key, isFile] of [
      ['env_pypi', isRequirementsFile],
      ['env_conda', isCondaFile],
    ] as const) {
      const value = fields[key];
      if (typeof value === 'string' && isFile(value)) add(value, ['environments', index, key]);
      else if (Array.isArray(value))
        value.forEach((item, at) => typeof item === 'string' && isFile(item) && add(item, ['environments', index, key, at]));
    }
  });
  return references;
}
