import { Document, Pair, Scalar, YAMLMap, YAMLSeq, type Node } from 'yaml';
import { formatDurationSeconds, parsePythonConfig, type PyEntry, type PyValue } from './python-literal.js';

export interface ImportOptions {
  /** With `provider: aws` and a local maestro: where EC2 instances reach this machine (katapult needs it; the original used SSH). */
  maestroAddress?: string;
  /** Named in the header comment: the file read, and the file written. */
  source?: string;
  output?: string;
}

export interface ImportResult {
  yaml: string;
  /** What the user still has to decide, one sentence each. */
  notes: string[];
}

function toNode(value: PyValue): Node {
  switch (value.kind) {
    case 'scalar':
      return new Scalar(value.value);
    case 'duration':
      return new Scalar(formatDurationSeconds(value.seconds));
    case 'list': {
      const seq = new YAMLSeq();
      for (const item of value.items) seq.items.push(withComments(toNode(item.value), item));
      // A short list of words reads best on one line, as in the original.
      seq.flow = value.items.every(
        (item) => item.value.kind === 'scalar' && item.commentsBefore.length === 0 && item.comment === undefined,
      );
      return seq;
    }
    case 'dict': {
      const map = new YAMLMap();
      for (const entry of value.entries) map.items.push(pairOf(entry));
      return map;
    }
  }
}

function pairOf(entry: PyEntry): Pair {
  const key = new Scalar(entry.key);
  if (entry.commentsBefore.length > 0) {
    key.commentBefore = entry.commentsBefore.map((line) => ` ${line}`).join('\n');
    key.spaceBefore = true;
  }
  const value = toNode(entry.value);
  if (entry.comment !== undefined) {
    // An end-of-line comment on a mapping or list would move below it; it belongs to the key's line.
    if (value instanceof Scalar || (value instanceof YAMLSeq && value.flow)) value.comment = ` ${entry.comment}`;
    else key.comment = ` ${entry.comment}`;
  }
  return new Pair(key, value);
}

function withComments(node: Node, item: PyEntry): Node {
  if (item.commentsBefore.length > 0) node.commentBefore = item.commentsBefore.map((line) => ` ${line}`).join('\n');
  if (item.comment !== undefined) node.comment = ` ${item.comment}`;
  return node;
}

function scalarOf(value: PyValue | undefined): string | number | boolean | null | undefined {
  return value?.kind === 'scalar' ? value.value : undefined;
}

/**
 * The original tool's config.py as a commented katapult.yaml: the same keys (Katapult's carry over), the same
 * comments, `timedelta(...)` as a duration. With `provider: aws` it adds what Katapult needs and the original
 * did not: `registry: ecr`, and `maestro_address` when given (a note says so when it is not).
 */
export function importPythonConfig(text: string, file: string, options: ImportOptions = {}): ImportResult {
  const config = parsePythonConfig(text, file);
  if (config.kind !== 'dict') throw new Error('unreachable: configValue returns a dict');
  const notes: string[] = [];
  const entries = [...config.entries];
  const get = (key: string) => entries.find((entry) => entry.key === key);
  if (scalarOf(get('provider')?.value) === 'aws') {
    const at = entries.findIndex((entry) => entry.key === 'provider') + 1;
    const added: PyEntry[] = [];
    if (scalarOf(get('registry')?.value) == null) {
      entries.splice(entries.indexOf(get('registry')!) >>> 0, get('registry') ? 1 : 0);
      added.push({
        key: 'registry',
        value: { kind: 'scalar', value: 'ecr' },
        commentsBefore: [],
        comment: 'new in katapult: instances pull the environment images from ECR',
      });
    }
    const remote = scalarOf(get('maestro')?.value) === 'remote';
    if (!remote && scalarOf(get('maestro_address')?.value) == null) {
      if (options.maestroAddress) {
        added.push({
          key: 'maestro_address',
          value: { kind: 'scalar', value: options.maestroAddress },
          commentsBefore: [],
          comment: "new in katapult: this machine's address as the instances reach it (NATS's port open to them)",
        });
      } else {
        notes.push(
          "with provider: aws and a local maestro, set maestro_address (this machine's public address as EC2 instances reach it), or use maestro: remote with maestro_cidr",
        );
      }
    }
    entries.splice(at, 0, ...added);
  }
  const doc = new Document();
  const map = toNode({ kind: 'dict', entries }) as YAMLMap;
  doc.contents = map;
  doc.commentBefore = ` Imported from ${options.source ?? file} by katapult import: the original tool's keys and comments.\n Check it with: katapult validate ${options.output ?? 'katapult.yaml'}`;
  return { yaml: doc.toString({ lineWidth: 0, indentSeq: true }), notes };
}
