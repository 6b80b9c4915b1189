import { writeFileSync } from 'node:fs';
import { Args, Flags } from '@oclif/core';
import { ExitCode, KatapultError, timelineLayout, timelineSvg, type RunView } from '@katapult/core/light';
import { KatapultCommand } from '../base-command.js';
import { findRun, readContext } from '@katapult/launcher/stack/context';
import { JOB_ROWS_SHOWN, renderRun } from '../render/run-view.js';

export default class Status extends KatapultCommand {
  static override description =
    'show the jobs of a run (the latest by default): state, agent, pool, attempt, exit code, duration, and why pending jobs wait; --json for every job, --timeline FILE for its timeline as an SVG';
  static override examples = [
    '<%= config.bin %> status',
    '<%= config.bin %> status r-20261125-081502-3fa9 --json',
    '<%= config.bin %> status --all',
    '<%= config.bin %> status r-20261125-081502-3fa9 --timeline timeline.svg',
  ];
  static override args = { run: Args.string({ description: 'run id (default: the latest run)' }) };
  static override flags = {
    all: Flags.boolean({ description: 'show every run' }),
    'all-jobs': Flags.boolean({
      description: `list every job, also in a run of more than ${JOB_ROWS_SHOWN} (otherwise only those not done are)`,
    }),
    timeline: Flags.string({
      description:
        "also write the run's timeline to this SVG file: its jobs as bars per agent over time (queued, pulling, running, in their state's colour), cpus in use and jobs queued",
      helpValue: 'FILE',
      exclusive: ['all'],
    }),
  };

  async run(): Promise<RunView[]> {
    const { args, flags } = await this.parse(Status);
    const { client, close } = await readContext((line) => this.logToStderr(line));
    const runs = await (flags.all ? client.listRuns() : findRun(client, args.run).then((run) => [run])).finally(close);
    this.log(runs.map((run) => renderRun(run, Date.now(), { allJobs: flags['all-jobs'] })).join('\n\n'));
    if (flags.timeline !== undefined) writeTimeline(flags.timeline, runs[0]!, Date.now());
    return runs;
  }
}

function writeTimeline(file: string, run: RunView, now: number): void {
  const svg = timelineSvg(timelineLayout(run.jobs, now), { title: `run ${run.id} (${run.project}): ${run.state}` });
  try {
    writeFileSync(file, svg);
  } catch (error) {
    throw new KatapultError('KP_TIMELINE_WRITE', `--timeline ${file}: ${(error as Error).message}`, {
      exitCode: ExitCode.badInput,
      hint: 'name a file in a folder that exists',
    });
  }
}
