import { Args, Flags } from '@oclif/core';
import { ExitCode, KatapultError, type RunView } from '@katapult/core/light';
import { KatapultCommand } from '../base-command.js';
import { findRun, readContext, type ReadContext } from '@katapult/launcher/stack/context';
import { LogEndWatch } from '@katapult/launcher/follow/log-follow';
import { readLogs } from '@katapult/launcher/follow/log-reader';
import { parseSince } from '@katapult/launcher/follow/since';
import { TailBuffer } from '@katapult/launcher/follow/tail-buffer';
import { AttemptHeaders } from '../render/attempt-headers.js';
import { LineWriter } from '../render/line-writer.js';
import { logLinePrefixer, shouldColour } from '../render/log-prefix.js';

interface LogLine {
  job: string;
  stream: 'stdout' | 'stderr';
  line: string;
  /** Which run of the job printed it: 1, then one more per retry or requeue. */
  attempt: number;
  /** When the agent read the line, in epoch milliseconds. */
  at: number;
}

interface LogsResult {
  runId: string;
  /** Only when one job was asked for: that job, and the exit code of its last end-of-log record, once there is one. */
  job?: string;
  exitCode?: number | null;
  lines: LogLine[];
}

export default class Logs extends KatapultCommand {
  static override description =
    "print the output of a run's jobs (the latest run by default), each line prefixed by its job, or of one job with stdout and stderr kept apart; with --follow, keep printing until they end. A job that ran more than once (retried or requeued) has a line '── attempt N ──' before each attempt's output; --attempt N prints only that one";
  static override examples = [
    '<%= config.bin %> logs',
    '<%= config.bin %> logs -f --tail 20',
    '<%= config.bin %> logs broken',
    '<%= config.bin %> logs broken --attempt 2',
    '<%= config.bin %> logs count-1 --follow --since 10m',
    '<%= config.bin %> logs greet --run r-20261125-081502-3fa9 --json',
  ];
  static override args = { job: Args.string({ description: 'job name (default: every job of the run)' }) };
  static override flags = {
    follow: Flags.boolean({ char: 'f', description: 'keep following until the jobs end (every job of the run: until the run is over)' }),
    run: Flags.string({ helpValue: 'RUN', description: 'run id (default: the latest run, with this job when one is named)' }),
    tail: Flags.integer({ helpValue: 'N', description: 'print only the last N lines of each job before following', min: 0 }),
    attempt: Flags.integer({
      helpValue: 'N',
      description: "only this attempt's lines (1 is the first; each retry or requeue adds one), with no header",
      min: 1,
    }),
    since: Flags.string({
      helpValue: 'DURATION',
      description: 'skip lines older than this: a duration back from now (30s, 10m, 2h) or an ISO timestamp',
    }),
  };

  async run(): Promise<LogsResult> {
    const { args, flags } = await this.parse(Logs);
    const since = flags.since === undefined ? undefined : parseSince(flags.since, Date.now());
    const context = await readContext((line) => this.logToStderr(line));
    try {
      return await this.print(context, args, flags, since);
    } finally {
      await context.close();
    }
  }

  private async print(
    context: ReadContext,
    args: { job: string | undefined },
    flags: { follow: boolean; run: string | undefined; tail: number | undefined; attempt: number | undefined },
    since: number | undefined,
  ): Promise<LogsResult> {
    const run = await findRun(context.client, flags.run, args.job);
    if (args.job !== undefined) requireJob(run, args.job, flags.attempt);

    const lines: LogLine[] = [];
    const stdout = new LineWriter((text) => process.stdout.write(text));
    const attemptsOf = new Map(run.jobs.map((job) => [job.id, job.attempt]));
    const headers = flags.attempt === undefined ? new AttemptHeaders((job) => attemptsOf.get(job) ?? 1) : undefined;
    const print = args.job === undefined ? this.mergedPrinter(run, stdout, headers) : this.separatePrinter(stdout, headers);
    // Asked once: oclif reads the environment each time, which costs more than printing a line.
    const printing = !this.jsonEnabled();
    const emit = (entry: LogLine) => {
      lines.push(entry);
      if (printing) print(entry);
    };
    const tail = flags.tail === undefined ? undefined : new TailBuffer<LogLine>(flags.tail);
    const watch = flags.follow ? new LogEndWatch(context.client, run.id, args.job) : undefined;
    const ended = new Map<string, number>();
    let exitCode: number | null | undefined;
    let replaying = true;

    // The view just read serves the reader's first look; later ones ask the coordinator again.
    let unread: RunView | undefined = run;
    await readLogs({
      nats: context.nats,
      cluster: context.stack.cluster,
      runId: run.id,
      jobs: async () => {
        const view = unread ?? (await findRun(context.client, run.id));
        unread = undefined;
        return view.jobs;
      },
      ...(args.job === undefined ? {} : { jobId: args.job }),
      onRecord: (job, record) => {
        if (flags.attempt !== undefined && record.attempt !== flags.attempt) return;
        if ('eof' in record) {
          ended.set(job, Math.max(ended.get(job) ?? 0, record.attempt));
          exitCode = record.exitCode;
          return;
        }
        if (since !== undefined && record.at < since) return;
        const entry: LogLine = { job, stream: record.stream, line: record.line, attempt: record.attempt, at: record.at };
        if (replaying && tail) tail.push(job, entry);
        else emit(entry);
      },
      caughtUp: async () => {
        if (replaying) {
          replaying = false;
          for (const entry of tail?.drain() ?? []) emit(entry);
        }
        stdout.flush();
        return watch ? watch.complete(ended) : true;
      },
    });
    stdout.flush();
    return args.job === undefined
      ? { runId: run.id, lines }
      : { runId: run.id, job: args.job, ...(exitCode === undefined ? {} : { exitCode }), lines };
  }

  /**
   * The same text as oclif's (pretty JSON, colourless without a theme), without its tokenizer, which takes
   * tens of seconds over a million lines.
   */
  protected override logJson(json: unknown): void {
    if (this.config.theme?.json) return super.logJson(json);
    process.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
  }

  /** Every job of the run on stdout, in stored order, each line after its job's name. */
  private mergedPrinter(run: RunView, stdout: LineWriter, headers: AttemptHeaders | undefined): (entry: LogLine) => void {
    const prefix = logLinePrefixer(
      run.jobs.map((job) => job.id),
      shouldColour(process.stdout, process.env),
    );
    return (entry) => {
      const header = headers?.before(entry.job, entry.attempt);
      if (header !== undefined) stdout.line(prefix(entry.job, header));
      stdout.line(prefix(entry.job, entry.line));
    };
  }

  /**
   * One job's output as it printed it: stdout lines on stdout, stderr lines on stderr, in the order printed;
   * the attempt headers on stdout.
   */
  private separatePrinter(stdout: LineWriter, headers: AttemptHeaders | undefined): (entry: LogLine) => void {
    return (entry) => {
      const header = headers?.before(entry.job, entry.attempt);
      if (header !== undefined) stdout.line(header);
      if (entry.stream === 'stdout') return stdout.line(entry.line);
      stdout.flush();
      process.stderr.write(`${entry.line}\n`);
    };
  }
}

function requireJob(run: RunView, jobId: string, attempt: number | undefined): void {
  const job = run.jobs.find((candidate) => candidate.id === jobId);
  if (!job) throw new KatapultError('KP_JOB_NOT_FOUND', `run ${run.id} has no job named "${jobId}"`, { exitCode: ExitCode.badInput });
  if (attempt !== undefined && attempt > job.attempt) {
    const ran = job.attempt === 1 ? '1 attempt' : `${job.attempt} attempts`;
    throw new KatapultError('KP_ATTEMPT_NOT_FOUND', `--attempt ${attempt}: job "${jobId}" of run ${run.id} has had ${ran} so far`, {
      exitCode: ExitCode.badInput,
    });
  }
}
