import { Args, Flags } from '@oclif/core';
import { clusterNames, isFinal } from '@katapult/core/light';
import { KatapultCommand } from '../base-command.js';
import { findRun, readContext } from '@katapult/launcher/stack/context';
import { fetchRunOutputs, type FetchedJob } from '@katapult/launcher/files/fetch-outputs';
import { withNats } from '@katapult/launcher/stack/nats';

export default class Fetch extends KatapultCommand {
  static override description = "download the output files of a run's jobs into OUT/<run>/<job>/ (the latest run by default)";
  static override examples = [
    '<%= config.bin %> fetch',
    '<%= config.bin %> fetch r-20261125-081502-3fa9 --out results',
    '<%= config.bin %> fetch --json',
  ];
  static override args = { run: Args.string({ description: 'run id (default: the latest run)' }) };
  static override flags = { out: Flags.string({ char: 'o', helpValue: 'DIR', description: 'folder to write into', default: 'results' }) };

  async run(): Promise<{ runId: string; out: string; jobs: FetchedJob[] }> {
    const { args, flags } = await this.parse(Fetch);
    const context = await readContext((line) => this.logToStderr(line));
    const { run, jobs } = await (async () => {
      const found = await findRun(context.client, args.run);
      return {
        run: found,
        jobs: await withNats(context.nats, (nc) => fetchRunOutputs(nc, clusterNames(context.stack.cluster), found, flags.out)),
      };
    })().finally(() => context.close());
    for (const { job, state, folder, files, missing } of jobs) {
      if (files.length > 0) this.log(`${job}: ${files.length} file${files.length === 1 ? '' : 's'} -> ${folder}`);
      if (!isFinal(state)) this.warn(`${job} is ${state}; fetch again once it ends`);
      else if (missing.length > 0) this.warn(`${job} (${state}) did not write ${missing.join(', ')}`);
    }
    if (jobs.length === 0) this.log(`no job of run ${run.id} has output_files`);
    return { runId: run.id, out: flags.out, jobs };
  }
}
