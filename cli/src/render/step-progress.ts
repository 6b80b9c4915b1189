import { formatBytes, formatDuration } from './table.js';

/** A step of a long image operation, as the images package reports it (see ProgressEvent there). */
export interface StepEvent {
  step: string;
  message: string;
  detail?: boolean;
  bytes?: number;
}

/**
 * How progress is shown: `verbose` prints every line as it comes (the tools' own output too); `live` (a person
 * at a terminal) keeps one line per step, redrawn in place with its elapsed time and bytes; `lines` (a pipe, a
 * CI log) prints each step once. The tools' full output always goes to the log.
 */
export type ProgressMode = 'verbose' | 'live' | 'lines';

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
// Docker repeats per-layer transfer states many times a second; even --verbose leaves them to the log.
const LAYER_CHATTER = /^[0-9a-f]{12}: (Preparing|Waiting|Pushing|Pushed|Layer already exists)$/;

interface LiveStep {
  title: string;
  startedAt: number;
  bytes?: number;
  last?: string;
  hidden: number;
}

export interface StepProgressOptions {
  mode: ProgressMode;
  write: (text: string) => void;
  /** Where every message goes in full (the build log); told once, when the first hidden line comes. */
  log?: { write(line: string): void; path: string };
  now?: () => number;
  /** The terminal's width, for the live line. */
  columns?: () => number;
  redrawMs?: number;
}

export class StepProgress {
  private readonly started: number;
  private readonly now: () => number;
  private live: LiveStep | undefined;
  private frame = 0;
  private timer: NodeJS.Timeout | undefined;
  /** The run's counts while it is followed on a terminal: one line, redrawn under whatever else is printed. */
  private statusText: string | undefined;

  constructor(private readonly options: StepProgressOptions) {
    this.now = options.now ?? Date.now;
    this.started = this.now();
    if (options.mode === 'live') {
      this.timer = setInterval(() => this.draw(), options.redrawMs ?? 250);
      this.timer.unref();
    }
  }

  private stamp(): string {
    return `[${((this.now() - this.started) / 1000).toFixed(1).padStart(5)}s]`;
  }

  /** A line of its own: `[ 12.3s] message`. */
  line(message: string): void {
    this.finishStep();
    this.options.log?.write(message);
    const clear = this.statusText === undefined ? '' : '\r\x1b[2K';
    this.options.write(`${clear}${this.stamp()} ${message}\n`);
    if (this.statusText !== undefined) this.drawStatus();
  }

  /**
   * How things stand (a run's counts): on a terminal one line redrawn in place each time, under the lines printed
   * meanwhile, after `bar`; elsewhere a line of its own each time, as it was.
   */
  status(text: string, bar?: string): void {
    if (this.options.mode !== 'live') return this.line(text);
    this.finishStep();
    this.statusText = bar === undefined ? text : `${bar} ${text}`;
    this.drawStatus();
  }

  /** Leaves the last status on screen as a line of its own, so what is printed next comes under it. */
  endStatus(): void {
    if (this.statusText === undefined) return;
    this.statusText = undefined;
    this.options.write('\n');
  }

  event(event: StepEvent): void {
    this.options.log?.write(`${event.step}: ${event.message}`);
    const { mode } = this.options;
    if (mode === 'verbose') {
      if (!LAYER_CHATTER.test(event.message)) this.line(`${event.step}: ${event.message}`);
      return;
    }
    if (!event.detail) {
      if (mode === 'lines') return this.line(`${event.step}: ${event.message}`);
      this.finishStep();
      this.live = { title: `${event.step}: ${event.message}`, startedAt: this.now(), hidden: 0 };
      return this.draw();
    }
    if (mode === 'live' && this.live) {
      this.live.hidden += 1;
      this.live.last = event.message;
      if (event.bytes !== undefined) this.live.bytes = event.bytes;
    }
  }

  /** Ends the live line (if any) with how long its step took; call before anything else writes to the terminal. */
  finishStep(): void {
    const step = this.live;
    if (!step) return;
    this.live = undefined;
    const took = this.now() - step.startedAt;
    const facts = [took >= 1_000 ? formatDuration(took) : undefined, step.bytes === undefined ? undefined : formatBytes(step.bytes)].filter(
      Boolean,
    );
    const notes = [facts.join(', '), step.hidden > 0 && this.options.log ? `its output: ${this.options.log.path}` : ''].filter(Boolean);
    const end = notes.length > 0 ? ` (${notes.join('; ')})` : '';
    this.options.write(`\r\x1b[2K${this.stampAt(step.startedAt)} ${step.title}${end}\n`);
  }

  stop(): void {
    clearInterval(this.timer);
    this.finishStep();
    this.endStatus();
  }

  private fit(text: string): string {
    const width = Math.max(20, (this.options.columns?.() ?? 80) - 1);
    // One terminal row, never wrapped: a wrapped line could not be redrawn in place.
    return [...text].length > width ? `${[...text].slice(0, width - 1).join('')}…` : text;
  }

  private drawStatus(): void {
    this.options.write(`\r\x1b[2K${this.fit(`${this.stamp()} ${this.statusText}`)}`);
  }

  private stampAt(at: number): string {
    return `[${((at - this.started) / 1000).toFixed(1).padStart(5)}s]`;
  }

  private draw(): void {
    const step = this.live;
    if (!step) return;
    this.frame = (this.frame + 1) % SPINNER.length;
    const elapsed = formatDuration(this.now() - step.startedAt);
    const parts = [
      `${SPINNER[this.frame]} ${this.stampAt(step.startedAt)} ${step.title}`,
      elapsed,
      ...(step.bytes === undefined ? [] : [formatBytes(step.bytes)]),
      ...(step.last ? [step.last] : []),
    ];
    this.options.write(`\r\x1b[2K${this.fit(parts.join(' · '))}`);
  }
}
