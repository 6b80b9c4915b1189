import { Args, Flags } from '@oclif/core';
import { ExitCode, KatapultError, RUN_ID_PATTERN, type CancelRunResponse } from '@katapult/core/light';
import { KatapultCommand } from '../base-command.js';
import type { CoordinatorClient } from '@katapult/launcher/stack/client';
import { findRun, stackContext } from '@katapult/launcher/stack/context';

const STOP_WAIT_MS = 30_000;

export default class Cancel extends KatapultCommand {
  static override description =
    'cancel a job, or every unfinished job of a run: running containers are stopped and the jobs marked aborted';
  static override examples = [
    '<%= config.bin %> cancel sim-2',
    '<%= config.bin %> cancel sim-2 --run r-20261125-081502-3fa9',
    '<%= config.bin %> cancel r-20261125-081502-3fa9',
  ];
  static override args = { target: Args.string({ description: 'a job name, or a run id to cancel the whole run', required: true }) };
  static override flags = {
    run: Flags.string({ helpValue: 'RUN', description: 'run id of the job (default: the latest run with this job)' }),
    'no-wait': Flags.boolean({ description: 'return without waiting for the containers to stop' }),
  };

  async run(): Promise<CancelRunResponse & { stopped: boolean }> {
    const { args, flags } = await this.parse(Cancel);
    const { client } = stackContext();
    const wholeRun = RUN_ID_PATTERN.test(args.target);
    if (wholeRun && flags.run) {
      throw new KatapultError('KP_USAGE', `${args.target} is a run id; --run is for naming the run of a job`, {
        exitCode: ExitCode.badInput,
      });
    }
    const run = wholeRun ? await client.getRun(args.target) : await findRun(client, flags.run, args.target);
    const result = await client.cancelRun(run.id, wholeRun ? {} : { jobs: [args.target] });
    for (const job of result.alreadyOver) this.log(`${job} had already ended; left as it was`);
    if (result.cancelled.length === 0) return { ...result, stopped: true };
    this.log(
      `cancelled ${result.cancelled.length} job${result.cancelled.length === 1 ? '' : 's'} of run ${run.id}: ${result.cancelled.join(', ')}`,
    );
    const stopped = flags['no-wait'] || (await waitUntilStopped(client, run.id, result.cancelled));
    if (!flags['no-wait'])
      this.log(
        stopped
          ? 'their containers are stopped'
          : `some containers still run after ${STOP_WAIT_MS / 1000}s; their agents will stop them when they can`,
      );
    return { ...result, stopped };
  }
}

/** Until no agent reports running any of the cancelled jobs (the coordinator asks them to stop on its tick). */
async function waitUntilStopped(client: CoordinatorClient, runId: string, jobs: string[]): Promise<boolean> {
  const wanted = new Set(jobs.map((job) => `${runId}/${job}`));
  const deadline = Date.now() + STOP_WAIT_MS;
  while (Date.now() < deadline) {
    const agents = await client.listAgents();
    if (!agents.some((agent) => agent.running.some((job) => wanted.has(job)))) return true;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return false;
}
