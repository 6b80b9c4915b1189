import { Args, Flags } from '@oclif/core';
import { KatapultCommand } from '../base-command.js';
import { findRun, stackContext } from '../lib/context.js';
import { readJobLog } from '../lib/log-reader.js';

export default class Logs extends KatapultCommand {
  static override description = "print a job's output from its first line; with --follow, keep printing until the job ends";
  static override examples = ['<%= config.bin %> logs broken', '<%= config.bin %> logs count-1 --follow', '<%= config.bin %> logs greet --run r-20261125-081502-3fa9'];
  static override args = { job: Args.string({ description: 'job name', required: true }) };
  static override flags = {
    follow: Flags.boolean({ char: 'f', description: 'keep following until the job ends' }),
    run: Flags.string({ description: 'run id (default: the latest run with this job)' }),
  };

  async run(): Promise<{ runId: string; job: string; lines: { stream: string; line: string }[]; exitCode: number | null | undefined }> {
    const { args, flags } = await this.parse(Logs);
    const context = stackContext();
    const run = await findRun(context.client, flags.run, args.job);
    const lines: { stream: string; line: string }[] = [];
    const { exitCode } = await readJobLog({
      natsUrl: context.natsUrl,
      cluster: context.stack.cluster,
      runId: run.id,
      jobId: args.job,
      follow: flags.follow,
      onRecord: (record) => {
        if ('eof' in record) return;
        lines.push({ stream: record.stream, line: record.line });
        if (record.stream === 'stderr' && !this.jsonEnabled()) process.stderr.write(`${record.line}\n`);
        else this.log(record.line);
      },
    });
    return { runId: run.id, job: args.job, lines, exitCode };
  }
}
