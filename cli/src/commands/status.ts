import { Args, Flags } from '@oclif/core';
import type { RunView } from '@katapult/core/light';
import { KatapultCommand } from '../base-command.js';
import { findRun, readContext } from '../lib/context.js';
import { JOB_ROWS_SHOWN, renderRun } from '../render/run-view.js';

export default class Status extends KatapultCommand {
  static override description =
    'show the jobs of a run (the latest by default): state, agent, pool, attempt, exit code, duration, and why pending jobs wait; --json for every job';
  static override examples = ['<%= config.bin %> status', '<%= config.bin %> status r-20261125-081502-3fa9 --json', '<%= config.bin %> status --all'];
  static override args = { run: Args.string({ description: 'run id (default: the latest run)' }) };
  static override flags = {
    all: Flags.boolean({ description: 'show every run' }),
    'all-jobs': Flags.boolean({ description: `list every job, also in a run of more than ${JOB_ROWS_SHOWN} (otherwise only those not done are)` }),
  };

  async run(): Promise<RunView[]> {
    const { args, flags } = await this.parse(Status);
    const { client, close } = await readContext((line) => this.logToStderr(line));
    const runs = await (flags.all ? client.listRuns() : findRun(client, args.run).then((run) => [run])).finally(close);
    this.log(runs.map((run) => renderRun(run, Date.now(), { allJobs: flags['all-jobs'] })).join('\n\n'));
    return runs;
  }
}
