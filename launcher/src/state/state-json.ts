import { existsSync, readFileSync } from 'node:fs';
import type { StateFileKind, stateFiles } from '@katapult/core/checks';
import { coreChecks } from '../core-checks.js';

/**
 * A JSON file of the state folder, checked against its schema in core: undefined when it is not there, a one-line
 * KP_STATE_FILE naming the file and its first wrong field when it is not what Katapult wrote.
 */
export function readStateJson<K extends StateFileKind>(file: string, kind: K): ReturnType<(typeof stateFiles)[K]> | undefined {
  if (!existsSync(file)) return undefined;
  return coreChecks().checkStateFile(kind, readFileSync(file, 'utf8'), file);
}
