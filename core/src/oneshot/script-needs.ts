import { juliaImports, pythonImports } from './script-imports.js';
import { JULIA_STDLIB, PIP_NAME_OF_IMPORT, PYTHON_STDLIB } from './stdlib.js';

export type ScriptLanguage = 'python' | 'julia';

export interface ScriptNeeds {
  language: ScriptLanguage;
  /** The project files it loads, the script first, as paths relative to the project folder. */
  files: string[];
  /** The packages to install: pip names for Python, Julia package names; in the order first imported. */
  packages: string[];
}

/** A file's text, by its path relative to the project folder; undefined when there is no such file. */
export type ReadProjectFile = (path: string) => string | undefined;

export function scriptLanguage(script: string): ScriptLanguage | undefined {
  return script.endsWith('.py') ? 'python' : script.endsWith('.jl') ? 'julia' : undefined;
}

/**
 * What a script needs to run elsewhere, guessed from its source: the project's own modules it imports (and
 * theirs, transitively) are files to upload, any other import that is not in the standard library is a
 * package to install. A Python import is the script's folder's module when that folder has it (as
 * `python3 script.py` finds it: the script's folder comes first on sys.path).
 */
export function scriptNeeds(script: string, read: ReadProjectFile): ScriptNeeds {
  const language = scriptLanguage(script);
  if (!language) throw new Error(`${script}: neither a .py nor a .jl script`);
  return language === 'python' ? pythonNeeds(script, read) : juliaNeeds(script, read);
}

function pythonNeeds(script: string, read: ReadProjectFile): ScriptNeeds {
  const root = dirOf(script);
  const files: string[] = [];
  const packages: string[] = [];
  const queue = [script];
  const seen = new Set<string>();
  while (queue.length > 0) {
    const file = queue.shift()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const source = read(file);
    if (source === undefined) continue;
    files.push(file);
    for (const entry of pythonImports(source)) {
      const base = entry.level === 0 ? root : upFrom(dirOf(file), entry.level - 1);
      const parts = entry.module === '' ? [] : entry.module.split('.');
      const found = localModuleFiles(base, parts, entry.names, read);
      if (found.length > 0 || entry.level > 0) {
        queue.push(...found);
        continue;
      }
      const top = parts[0]!;
      if (PYTHON_STDLIB.has(top) || top === '__future__') continue;
      const name = PIP_NAME_OF_IMPORT[top] ?? top;
      if (!packages.includes(name)) packages.push(name);
    }
  }
  return { language: 'python', files, packages };
}

/**
 * The files of a module path under `base`: each package's `__init__.py` on the way and the module itself, plus
 * the submodules among `names` (`from pkg import sub`). Empty when `base` has no such first module.
 */
function localModuleFiles(base: string, parts: string[], names: string[], read: ReadProjectFile): string[] {
  const found: string[] = [];
  let folder = base;
  for (const [index, part] of parts.entries()) {
    const asModule = join(folder, `${part}.py`);
    const asPackage = join(folder, part, '__init__.py');
    if (read(asPackage) !== undefined) {
      found.push(asPackage);
      folder = join(folder, part);
    } else if (read(asModule) !== undefined) {
      found.push(asModule);
      return found;
    } else {
      return index === 0 ? [] : found;
    }
  }
  for (const name of names) {
    const asModule = join(folder, `${name}.py`);
    const asPackage = join(folder, name, '__init__.py');
    if (read(asModule) !== undefined) found.push(asModule);
    else if (read(asPackage) !== undefined) found.push(asPackage);
  }
  return found;
}

function juliaNeeds(script: string, read: ReadProjectFile): ScriptNeeds {
  const files: string[] = [];
  const packages: string[] = [];
  const queue = [script];
  while (queue.length > 0) {
    const file = queue.shift()!;
    if (files.includes(file)) continue;
    const source = read(file);
    if (source === undefined) continue;
    files.push(file);
    const found = juliaImports(source);
    // include() paths are relative to the including file.
    queue.push(...found.includes.map((path) => join(dirOf(file), path)));
    for (const { module } of found.packages) if (!JULIA_STDLIB.has(module) && !packages.includes(module)) packages.push(module);
  }
  return { language: 'julia', files, packages };
}

const dirOf = (path: string) => (path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : '');

function upFrom(folder: string, levels: number): string {
  const parts = folder === '' ? [] : folder.split('/');
  return parts.slice(0, Math.max(0, parts.length - levels)).join('/');
}

/** Joins relative paths, resolving `.` and `..` (a path out of the project folder keeps its `..`, and is refused later). */
function join(...pieces: string[]): string {
  const out: string[] = [];
  for (const segment of pieces.join('/').split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..' && out.length > 0 && out.at(-1) !== '..') out.pop();
    else out.push(segment);
  }
  return out.join('/');
}
