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
 * Every job file the config text names (run_script, upload_files, input_files), read from the raw document so
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
  return references;
}
