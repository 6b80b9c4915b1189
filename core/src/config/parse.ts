import { isMap, isSeq, isScalar, LineCounter, parseDocument, type Node } from 'yaml';
import { ConfigError } from '../errors.js';

export type FieldPath = readonly (string | number)[];

/** A parsed config: its plain value, and a way back from a field path to the line and column it came from. */
export interface ParsedConfig {
  value: unknown;
  locate(path: FieldPath): { line: number; col: number } | undefined;
}

/** YAML 1.2 is a superset of JSON, so one parser (with positions) serves katapult.yaml and katapult.json. */
export function parseConfigText(text: string, file: string): ParsedConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      file,
      doc.errors.map((error) => {
        const pos = lineCounter.linePos(error.pos[0]);
        return { path: '', message: firstLine(error.message), line: pos.line, col: pos.col };
      }),
      'KP_CONFIG_SYNTAX',
    );
  }
  const value: unknown = doc.toJS();
  return {
    value,
    locate(path) {
      const offset = offsetOf(doc.contents, path);
      if (offset === undefined) return undefined;
      return lineCounter.linePos(offset);
    },
  };
}

/** Walks the YAML tree; points at the key of the last segment when there is one, so "unknown key" lands on it. */
function offsetOf(root: Node | null | undefined, path: FieldPath): number | undefined {
  let node: unknown = root;
  let offset = rangeStart(root);
  for (const segment of path) {
    if (isMap(node)) {
      const pair = node.items.find((item) => isScalar(item.key) && String(item.key.value) === String(segment));
      if (!pair) return offset;
      offset = rangeStart(pair.key as Node) ?? offset;
      node = pair.value;
    } else if (isSeq(node) && typeof segment === 'number') {
      const item = node.items[segment];
      if (item === undefined) return offset;
      offset = rangeStart(item as Node) ?? offset;
      node = item;
    } else {
      return offset;
    }
  }
  return offset;
}

function rangeStart(node: Node | null | undefined): number | undefined {
  return node && 'range' in node && node.range ? node.range[0] : undefined;
}

function firstLine(message: string): string {
  return message.split('\n')[0] ?? message;
}

export function formatPath(path: FieldPath): string {
  return path.map((segment, index) => (typeof segment === 'number' ? `[${segment}]` : index === 0 ? segment : `.${segment}`)).join('');
}
