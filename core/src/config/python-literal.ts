import { ConfigError } from '../errors.js';

/**
 * The original tool's config is a Python file, `config = { ... }`, made of literals only. This reads that subset
 * (dicts, lists, tuples, strings, numbers, None/True/False, `datetime.timedelta(...)`) with its comments, so
 * `katapult import` needs no Python. Anything else (a variable, another call) is an error at its line and column.
 */
export type PyValue =
  | { kind: 'dict'; entries: PyEntry[] }
  | { kind: 'list'; items: PyEntry[] }
  | { kind: 'scalar'; value: string | number | boolean | null }
  | { kind: 'duration'; seconds: number };

/** A dict entry (key set) or a list item, with the comment lines above it and the comment at the end of its line. */
export interface PyEntry {
  key?: string;
  value: PyValue;
  commentsBefore: string[];
  comment?: string;
}

type Token =
  | { type: 'punct'; text: string; line: number; col: number }
  | { type: 'string'; text: string; line: number; col: number }
  | { type: 'number'; value: number; text: string; line: number; col: number }
  | { type: 'name'; text: string; line: number; col: number }
  | { type: 'comment'; text: string; line: number; col: number; ownLine: boolean }
  | { type: 'end'; text: ''; line: number; col: number };

const ESCAPES: Record<string, string> = {
  n: '\n',
  t: '\t',
  r: '\r',
  '\\': '\\',
  "'": "'",
  '"': '"',
  '0': '\0',
  a: '\x07',
  b: '\b',
  f: '\f',
  v: '\v',
};

function syntaxError(file: string, line: number, col: number, message: string): ConfigError {
  return new ConfigError(file, [{ path: '', message, line, col }], 'KP_IMPORT_SYNTAX');
}

export function tokenize(text: string, file: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  let line = 1;
  let lineStart = 0;
  let lastTokenLine = 0;
  const col = () => i - lineStart + 1;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '\n') {
      line += 1;
      i += 1;
      lineStart = i;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r' || c === '\f') {
      i += 1;
      continue;
    }
    if (c === '\\' && text[i + 1] === '\n') {
      i += 1;
      continue;
    }
    const startCol = col();
    if (c === '#') {
      const end = text.indexOf('\n', i);
      const body = text.slice(i + 1, end === -1 ? text.length : end);
      tokens.push({ type: 'comment', text: body, line, col: startCol, ownLine: lastTokenLine !== line });
      i = end === -1 ? text.length : end;
      continue;
    }
    const prefix = /^([rRbBuUfF]{0,2})(['"])/.exec(text.slice(i, i + 3));
    if (prefix && (prefix[1] === '' || /^[a-zA-Z]+$/.test(prefix[1]!))) {
      const raw = /[rR]/.test(prefix[1]!);
      if (/[fF]/.test(prefix[1]!)) throw syntaxError(file, line, startCol, 'an f-string is not a literal; write the text itself');
      const quote = prefix[2]!;
      i += prefix[1]!.length;
      const triple = text.startsWith(quote.repeat(3), i);
      const delimiter = triple ? quote.repeat(3) : quote;
      i += delimiter.length;
      let value = '';
      for (;;) {
        if (i >= text.length) throw syntaxError(file, line, startCol, 'a string is not closed');
        if (text.startsWith(delimiter, i)) {
          i += delimiter.length;
          break;
        }
        const ch = text[i]!;
        if (ch === '\n') {
          if (!triple) throw syntaxError(file, line, startCol, 'a string is not closed on its line');
          value += ch;
          line += 1;
          i += 1;
          lineStart = i;
          continue;
        }
        if (ch === '\\' && !raw) {
          const next = text[i + 1] ?? '';
          if (next === '\n') {
            line += 1;
            i += 2;
            lineStart = i;
            continue;
          }
          value += ESCAPES[next] ?? `\\${next}`;
          i += 2;
          continue;
        }
        value += ch;
        i += 1;
      }
      tokens.push({ type: 'string', text: value, line, col: startCol });
      lastTokenLine = line;
      continue;
    }
    const number = /^(?:0[xX][0-9a-fA-F_]+|(?:\d[\d_]*)?\.?\d[\d_]*(?:[eE][+-]?\d+)?)/.exec(text.slice(i));
    if (number && number[0].length > 0 && /\d/.test(c + (text[i + 1] ?? ''))) {
      const literal = number[0];
      const value = Number(literal.replaceAll('_', ''));
      if (Number.isNaN(value)) throw syntaxError(file, line, startCol, `"${literal}" is not a number`);
      tokens.push({ type: 'number', value, text: literal, line, col: startCol });
      i += literal.length;
      lastTokenLine = line;
      continue;
    }
    const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i));
    if (name) {
      tokens.push({ type: 'name', text: name[0], line, col: startCol });
      i += name[0].length;
      lastTokenLine = line;
      continue;
    }
    if ('{}[]():,=.-+;'.includes(c)) {
      tokens.push({ type: 'punct', text: c, line, col: startCol });
      i += 1;
      lastTokenLine = line;
      continue;
    }
    throw syntaxError(file, line, startCol, `unexpected "${c}"`);
  }
  tokens.push({ type: 'end', text: '', line, col: col() });
  return tokens;
}

const TIMEDELTA_UNITS: Record<string, number> = {
  weeks: 604_800,
  days: 86_400,
  hours: 3_600,
  minutes: 60,
  seconds: 1,
  milliseconds: 0.001,
  microseconds: 0.000_001,
};
const TIMEDELTA_POSITIONS = ['days', 'seconds', 'microseconds', 'milliseconds', 'minutes', 'hours', 'weeks'];

/** Banner lines (`#####`) carry no words: they are dropped. */
function keptComment(text: string): string | undefined {
  const trimmed = text.trim();
  return /^[#=\-*~_ ]*$/.test(trimmed) ? undefined : trimmed;
}

class Parser {
  private at = 0;
  constructor(
    private readonly tokens: Token[],
    private readonly file: string,
  ) {}

  private peek(): Token {
    let index = this.at;
    while (this.tokens[index]!.type === 'comment') index += 1;
    return this.tokens[index]!;
  }

  /** Comments up to the next real token: those on their own lines, and one ending the line of `afterLine`. */
  private comments(afterLine?: number): { before: string[]; trailing?: string } {
    const before: string[] = [];
    let trailing: string | undefined;
    while (this.tokens[this.at]!.type === 'comment') {
      const token = this.tokens[this.at] as Extract<Token, { type: 'comment' }>;
      const text = keptComment(token.text);
      if (!token.ownLine && token.line === afterLine && trailing === undefined) trailing = token.text.trim();
      else if (text !== undefined) before.push(text);
      this.at += 1;
    }
    return trailing === undefined ? { before } : { before, trailing };
  }

  private next(): Token {
    this.comments();
    const token = this.tokens[this.at]!;
    if (token.type !== 'end') this.at += 1;
    return token;
  }

  private fail(token: Token, message: string): ConfigError {
    return syntaxError(this.file, token.line, token.col, message);
  }

  private expect(text: string): Token {
    const token = this.next();
    if (token.type !== 'punct' || token.text !== text) throw this.fail(token, `expected "${text}", found ${describe(token)}`);
    return token;
  }

  private isPunct(text: string): boolean {
    const token = this.peek();
    return token.type === 'punct' && token.text === text;
  }

  /** The value assigned to `config` (or the only dict assigned, when no name is `config`). */
  configValue(): PyValue {
    const candidates: number[] = [];
    for (let index = 0; index + 2 < this.tokens.length; index += 1) {
      const [name, equals] = [this.tokens[index]!, this.tokens[index + 1]!];
      if (name.type === 'name' && equals.type === 'punct' && equals.text === '=') candidates.push(index);
    }
    const chosen = candidates.find((index) => this.tokens[index]!.text === 'config') ?? candidates[0];
    if (chosen === undefined) throw syntaxError(this.file, 1, 1, 'no "config = {...}" assignment found');
    this.at = chosen + 2;
    const value = this.value();
    if (value.kind !== 'dict') throw syntaxError(this.file, this.tokens[chosen]!.line, this.tokens[chosen]!.col, 'config must be a dict');
    return value;
  }

  private value(): PyValue {
    const token = this.next();
    if (token.type === 'punct' && token.text === '{') return this.dict();
    if (token.type === 'punct' && (token.text === '[' || token.text === '(')) return this.list(token.text === '[' ? ']' : ')');
    if (token.type === 'string') {
      let text = token.text;
      // Adjacent literals are one string, as in Python.
      while (this.peek().type === 'string') text += this.next().text;
      return { kind: 'scalar', value: text };
    }
    if (token.type === 'number') return { kind: 'scalar', value: token.value };
    if (token.type === 'punct' && (token.text === '-' || token.text === '+')) {
      const operand = this.next();
      if (operand.type !== 'number') throw this.fail(operand, `expected a number after "${token.text}"`);
      return { kind: 'scalar', value: token.text === '-' ? -operand.value : operand.value };
    }
    if (token.type === 'name') {
      if (token.text === 'None') return { kind: 'scalar', value: null };
      if (token.text === 'True') return { kind: 'scalar', value: true };
      if (token.text === 'False') return { kind: 'scalar', value: false };
      let name = token.text;
      while (this.isPunct('.')) {
        this.next();
        const part = this.next();
        if (part.type !== 'name') throw this.fail(part, `expected a name after "${name}."`);
        name += `.${part.text}`;
      }
      if ((name === 'timedelta' || name === 'datetime.timedelta') && this.isPunct('(')) return this.timedelta(token);
      throw this.fail(
        token,
        `"${name}" is not a literal: katapult import reads dicts, lists, strings, numbers, None, True, False and datetime.timedelta(...)`,
      );
    }
    throw this.fail(token, `expected a value, found ${describe(token)}`);
  }

  private dict(): PyValue {
    const entries: PyEntry[] = [];
    let pending = this.comments();
    while (!this.isPunct('}')) {
      const key = this.next();
      if (key.type !== 'string') throw this.fail(key, `a dict key must be a string, found ${describe(key)}`);
      this.expect(':');
      const value = this.value();
      const entry: PyEntry = { key: key.text, value, commentsBefore: pending.before };
      entries.push(entry);
      pending = this.afterItem(entry, '}');
    }
    this.expect('}');
    return { kind: 'dict', entries };
  }

  private list(close: string): PyValue {
    const items: PyEntry[] = [];
    let pending = this.comments();
    while (!this.isPunct(close)) {
      const value = this.value();
      const entry: PyEntry = { value, commentsBefore: pending.before };
      items.push(entry);
      pending = this.afterItem(entry, close);
    }
    this.expect(close);
    return { kind: 'list', items };
  }

  /** After an item: its trailing comment (before or after the comma), then the comments above the next one. */
  private afterItem(entry: PyEntry, close: string): { before: string[] } {
    const lastLine = this.tokens[this.at - 1]!.line;
    let around = this.comments(lastLine);
    if (this.isPunct(',')) {
      const comma = this.next();
      const after = this.comments(comma.line);
      around = {
        before: [...around.before, ...after.before],
        ...((around.trailing ?? after.trailing) ? { trailing: (around.trailing ?? after.trailing)! } : {}),
      };
    } else if (!this.isPunct(close)) {
      throw this.fail(this.peek(), `expected "," or "${close}", found ${describe(this.peek())}`);
    }
    if (around.trailing !== undefined) entry.comment = around.trailing;
    return { before: around.before };
  }

  private timedelta(start: Token): PyValue {
    this.expect('(');
    let seconds = 0;
    let position = 0;
    while (!this.isPunct(')')) {
      let unit = TIMEDELTA_POSITIONS[position];
      const first = this.peek();
      if (first.type === 'name' && this.tokens[this.tokens.indexOf(first) + 1]?.text === '=') {
        this.next();
        this.expect('=');
        unit = first.text;
      } else {
        position += 1;
      }
      const amount = this.value();
      if (unit === undefined || !(unit in TIMEDELTA_UNITS)) throw this.fail(first, `timedelta has no argument "${first.text}"`);
      if (amount.kind !== 'scalar' || typeof amount.value !== 'number') throw this.fail(first, `timedelta's ${unit} must be a number`);
      seconds += amount.value * TIMEDELTA_UNITS[unit]!;
      if (!this.isPunct(')')) this.expect(',');
    }
    this.expect(')');
    if (seconds <= 0) throw this.fail(start, 'timedelta must be longer than 0 seconds');
    return { kind: 'duration', seconds };
  }
}

function describe(token: Token): string {
  if (token.type === 'end') return 'the end of the file';
  if (token.type === 'string') return 'a string';
  return `"${token.text}"`;
}

/** Reads `config = {...}` from the text of an original config.py. */
export function parsePythonConfig(text: string, file: string): PyValue {
  return new Parser(tokenize(text, file), file).configValue();
}

/** 5400 → "1h30m": the config's duration form. */
export function formatDurationSeconds(total: number): string {
  let rest = Math.ceil(total);
  let text = '';
  for (const [unit, size] of [
    ['d', 86_400],
    ['h', 3_600],
    ['m', 60],
    ['s', 1],
  ] as const) {
    const count = Math.floor(rest / size);
    if (count > 0) text += `${count}${unit}`;
    rest -= count * size;
  }
  return text;
}
