import type { BuildOutcome } from '@katapult/launcher/launch/prepare-images';
import { formatDuration, renderTable } from './table.js';

export type { BuildOutcome };

export interface EnvironmentProgress {
  name: string;
  /** The recipe step being built (apt, conda, pip, julia, command), or checking / pushing. */
  step: string;
  startedAt: number;
  endedAt: number | null;
  outcome: BuildOutcome | null;
}

/** One row per environment: its step (or how it ended) and the time it has taken; what the live display redraws. */
export function renderBuildProgress(rows: readonly EnvironmentProgress[], now: number): string {
  return renderTable(
    ['ENV', 'STEP', 'ELAPSED'],
    rows.map((row) => [row.name, row.outcome ?? `${row.step}…`, formatDuration((row.endedAt ?? now) - row.startedAt)]),
  );
}

/**
 * Keeps the build table up to date on a terminal: the rows are drawn once, then redrawn in place (cursor up,
 * clear line) every `intervalMs` and on each change. Off a terminal it draws nothing; the caller logs lines.
 */
export class LiveBuildDisplay {
  private readonly rows = new Map<string, EnvironmentProgress>();
  private drawnLines = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly out: Pick<NodeJS.WriteStream, 'write'>,
    private readonly now: () => number = Date.now,
    intervalMs = 250,
  ) {
    this.timer = setInterval(() => this.draw(), intervalMs);
    this.timer.unref();
  }

  update(name: string, patch: Partial<Omit<EnvironmentProgress, 'name'>>): void {
    const row = this.rows.get(name) ?? { name, step: 'checking', startedAt: this.now(), endedAt: null, outcome: null };
    const next = { ...row, ...patch };
    if (patch.outcome) next.endedAt = this.now();
    this.rows.set(name, next);
    this.draw();
  }

  stop(): void {
    clearInterval(this.timer);
    this.draw();
  }

  private draw(): void {
    if (this.rows.size === 0) return;
    const lines = renderBuildProgress([...this.rows.values()], this.now()).split('\n');
    const up = this.drawnLines > 0 ? `\x1b[${this.drawnLines}F` : '';
    this.out.write(up + lines.map((line) => `\x1b[2K${line}\n`).join(''));
    this.drawnLines = lines.length;
  }
}
