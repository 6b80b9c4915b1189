import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { ExitCode, KatapultError, scriptLanguage, type ReadProjectFile } from '@katapult/core/light';
import { formatBytes } from '../lines/bytes.js';

/** Folders never uploaded with --folder: version control, caches, installed packages, fetched results. */
const SKIPPED_FOLDERS = new Set([
  '.git',
  '.hg',
  '.svn',
  'node_modules',
  '__pycache__',
  '.venv',
  'venv',
  '.mypy_cache',
  '.pytest_cache',
  'results',
]);

/** The script as a path relative to the project folder, checked to be a .py or .jl file inside it. */
export function projectScript(projectDir: string, script: string): string {
  const path = relative(projectDir, resolve(projectDir, script)).split(sep).join('/');
  if (path.startsWith('../') || path === '..' || path === '') {
    throw new KatapultError('KP_RUN_SCRIPT_OUTSIDE', `${script} is outside the current folder`, {
      exitCode: ExitCode.badInput,
      hint: 'run katapult run from the folder that holds the script',
    });
  }
  if (!scriptLanguage(path)) {
    throw new KatapultError('KP_RUN_SCRIPT_KIND', `${script}: katapult run takes a Python (.py) or Julia (.jl) script`, {
      exitCode: ExitCode.badInput,
      hint: 'for anything else, write a katapult.yaml (katapult init) and launch it',
    });
  }
  if (!statSync(join(projectDir, path), { throwIfNoEntry: false })?.isFile()) {
    throw new KatapultError('KP_RUN_SCRIPT_NOT_FOUND', `${script}: no such file`, { exitCode: ExitCode.badInput });
  }
  return path;
}

/** Reads project files by relative path, for the import scan: anything unreadable is not a project module. */
export function projectReader(projectDir: string): ReadProjectFile {
  return (path) => {
    if (path.startsWith('../')) return undefined;
    try {
      return statSync(join(projectDir, path)).isFile() ? readFileSync(join(projectDir, path), 'utf8') : undefined;
    } catch {
      return undefined;
    }
  };
}

/** Every file of the folder (--folder), sorted, refused past `maxBytes` in all. */
export function folderFiles(projectDir: string, maxBytes: number): { files: string[]; bytes: number } {
  const files: string[] = [];
  let bytes = 0;
  const walk = (folder: string) => {
    for (const entry of readdirSync(join(projectDir, folder), { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const path = folder === '' ? entry.name : `${folder}/${entry.name}`;
      if (entry.isDirectory()) {
        if (!SKIPPED_FOLDERS.has(entry.name) && !entry.name.startsWith('.')) walk(path);
      } else if (entry.isFile() && !entry.name.startsWith('.')) {
        bytes += statSync(join(projectDir, path)).size;
        files.push(path);
        if (bytes > maxBytes) {
          throw new KatapultError(
            'KP_RUN_FOLDER_TOO_BIG',
            `the folder holds more than ${formatBytes(maxBytes)} of files (--max-upload), at ${path}`,
            {
              exitCode: ExitCode.badInput,
              hint: 'leave out --folder (only the modules the script imports are uploaded), or raise --max-upload',
            },
          );
        }
      }
    }
  };
  walk('');
  return { files, bytes };
}

/** `200m`, `1g`, `500k` or bytes: the size --max-upload takes (units of 1024, as Docker's). */
export function parseUploadLimit(text: string): number {
  const match = /^(\d+(?:\.\d+)?)([kmg]?)$/i.exec(text.trim());
  if (!match) {
    throw new KatapultError('KP_USAGE', `--max-upload ${JSON.stringify(text)} is not a size; write a number and a unit, like 200m or 1g`, {
      exitCode: ExitCode.badInput,
    });
  }
  const unit = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[match[2]!.toLowerCase() as '' | 'k' | 'm' | 'g'];
  return Math.floor(Number(match[1]) * unit);
}
