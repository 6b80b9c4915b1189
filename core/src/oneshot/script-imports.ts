/** What a script's source says it loads, read without running it. */
export interface ScriptImport {
  /** The dotted module (`a.b`), or for Julia the package name. */
  module: string;
  /** Python's relative imports: how many leading dots (`from ..x import y` is 2). 0: absolute. */
  level: number;
  /** With `from a import b, c`: the names imported, each maybe a submodule `a.b`. */
  names: string[];
  line: number;
}

/**
 * The imports of a Python source: `import a.b as c, d` and `from .x import (y, z)`, at any indentation (an import
 * inside a function or a try still needs its package). Comments, strings and docstrings are skipped.
 */
export function pythonImports(source: string): ScriptImport[] {
  const imports: ScriptImport[] = [];
  const statements = pythonStatements(source);
  for (const { text, line } of statements) {
    const plain = /^import\s+(.+)$/.exec(text);
    if (plain) {
      for (const part of plain[1]!.split(',')) {
        const module = /^\s*([A-Za-z_][\w.]*)/.exec(part)?.[1];
        if (module) imports.push({ module, level: 0, names: [], line });
      }
      continue;
    }
    const from = /^from\s+(\.*)\s*([A-Za-z_][\w.]*)?\s+import\s+(.+)$/.exec(text);
    if (from) {
      const names = from[3]!
        .replace(/[()]/g, ' ')
        .split(',')
        .map((part) => /^\s*([A-Za-z_]\w*)/.exec(part)?.[1])
        .filter((name): name is string => name !== undefined);
      imports.push({ module: from[2] ?? '', level: from[1]!.length, names, line });
    }
  }
  return imports;
}

/**
 * Logical lines of Python code that start with `import` or `from`: strings and comments blanked, lines joined
 * inside brackets and after a backslash.
 */
function pythonStatements(source: string): { text: string; line: number }[] {
  const out: { text: string; line: number }[] = [];
  let current = '';
  let startLine = 1;
  let line = 1;
  let depth = 0;
  let quote: string | null = null;
  for (let i = 0; i < source.length; i += 1) {
    const char = source[i]!;
    if (quote) {
      if (char === '\\') {
        i += 1;
        if (source[i] === '\n') line += 1;
        continue;
      }
      if (char === '\n') line += 1;
      if (source.startsWith(quote, i)) {
        i += quote.length - 1;
        quote = null;
        current += '""';
      }
      continue;
    }
    if (char === '#') {
      while (i < source.length && source[i] !== '\n') i += 1;
      i -= 1;
      continue;
    }
    if (char === '"' || char === "'") {
      quote = source.startsWith(char.repeat(3), i) ? char.repeat(3) : char;
      i += quote.length - 1;
      continue;
    }
    if (char === '\\' && source[i + 1] === '\n') {
      i += 1;
      line += 1;
      current += ' ';
      continue;
    }
    if ('([{'.includes(char)) depth += 1;
    if (')]}'.includes(char)) depth = Math.max(0, depth - 1);
    if (char === '\n' || char === ';') {
      if (char === '\n') line += 1;
      if (char === '\n' && depth > 0) {
        current += ' ';
        continue;
      }
      push();
      startLine = line;
      continue;
    }
    if (current === '' && /\s/.test(char)) continue;
    if (current === '') startLine = line;
    current += char;
  }
  push();
  return out;

  function push() {
    const text = current.trim();
    if (/^(import|from)\s/.test(text)) out.push({ text: text.replace(/\s+/g, ' '), line: startLine });
    current = '';
  }
}

/** Julia's `using A, B: f` and `import A.B`, and the files it `include`s (literal paths only). */
export function juliaImports(source: string): { packages: ScriptImport[]; includes: string[] } {
  const packages: ScriptImport[] = [];
  const includes: string[] = [];
  const lines = source.replace(/#=[\s\S]*?=#/g, (comment) => comment.replace(/[^\n]/g, ' ')).split('\n');
  lines.forEach((raw, index) => {
    const text = raw.replace(/#.*$/, '').trim();
    const statement = /^(?:using|import)\s+(.+)$/.exec(text);
    if (statement) {
      const list = statement[1]!.split(':')[0]!;
      for (const part of list.split(',')) {
        const name = /^\s*([A-Za-z_]\w*)/.exec(part)?.[1];
        // `using .Local` names a module of this code, not a package.
        if (name && !/^\s*\./.test(part)) packages.push({ module: name, level: 0, names: [], line: index + 1 });
      }
    }
    for (const match of text.matchAll(/\binclude\(\s*"([^"$\\]+)"\s*\)/g)) includes.push(match[1]!);
  });
  return { packages, includes };
}
