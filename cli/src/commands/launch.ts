import { Args, Flags } from '@oclif/core';
import { dirname } from 'node:path';
import { ExitCode, type CostEstimate, type RunView } from '@katapult/core/light';
import { KatapultCommand } from '../base-command.js';
import { checkConfigFile } from '@katapult/launcher/project/config-file';
import { costEstimatorFor, runElapsedMs } from '@katapult/launcher/launch/cost-estimator';
import { resolveRunFiles } from '@katapult/launcher/files/run-files';
import { openLaunchContext, submitLaunch } from '@katapult/launcher/launch/launch-run';
import { buildEnvironments } from '@katapult/launcher/launch/prepare-images';
import { watchRun } from '@katapult/launcher/follow/watch-run';
import { formatCostTotal } from '../render/cost.js';
import { renderRun } from '../render/run-view.js';
import { liveBuildDisplay, onFollowProgress, onStepProgress, stepProgress } from '../render/launch-progress.js';
import { resolveSecrets } from '@katapult/launcher/project/secrets';

/** What `launch --json` prints at the end: the run, and on AWS the estimated cost of its instances. */
export type LaunchResult = RunView & { cost?: CostEstimate };

export default class Launch extends KatapultCommand {
  static override description = 'start the stack and instances if needed, submit the jobs of a config, and follow them to the end';
  static override examples = [
    '<%= config.bin %> launch examples/hello/katapult.yaml',
    '<%= config.bin %> launch katapult.yaml --detach',
    '<%= config.bin %> launch katapult.yaml --wait && echo "all jobs succeeded"',
    '<%= config.bin %> launch katapult.yaml --json',
    'API_KEY=... <%= config.bin %> launch katapult.yaml   # a job with secrets: [API_KEY] gets it',
    '<%= config.bin %> launch katapult.yaml --secrets-file .secrets   # NAME=value lines',
  ];
  static override args = { file: Args.string({ description: 'config file (YAML or JSON)', required: true }) };
  static override flags = {
    detach: Flags.boolean({ description: 'return as soon as the run is submitted', exclusive: ['wait'] }),
    wait: Flags.boolean({
      description: 'wait for the end without printing progress; exit 0 only if every job is done with exit code 0 (1 otherwise)',
      exclusive: ['detach'],
    }),
    'secrets-file': Flags.string({
      description:
        "a file of NAME=value lines (dotenv) with the values of the secrets the config names; else they come from this shell's environment",
    }),
    verbose: Flags.boolean({
      char: 'v',
      description: 'print every line of the image builds (debootstrap, docker build) as it comes, instead of one line per step',
    }),
  };

  async run(): Promise<LaunchResult | { runId: string; resumed: boolean }> {
    const { args, flags } = await this.parse(Launch);
    // Ctrl-C stops following, not the run: the coordinator and agents carry on without this process.
    let runId: string | undefined;
    process.once('SIGINT', () => {
      process.stderr.write(
        runId
          ? `\ndetached from run ${runId}; it goes on. Follow it with: katapult status ${runId}\n`
          : '\ninterrupted before the run was submitted; katapult status shows whether it was\n',
      );
      process.exit(ExitCode.interrupted);
    });
    const progress = stepProgress({ json: this.jsonEnabled(), verbose: flags.verbose, log: (line) => this.log(line) });
    const emit = onStepProgress(progress);
    const spec = await checkConfigFile(args.file);
    const secrets = resolveSecrets(spec, process.env, flags['secrets-file']);
    const costs = flags.detach ? undefined : costEstimatorFor(spec);
    // Looked up while images build, so the first progress line can already show the estimate.
    void costs?.load();
    const projectFiles = await resolveRunFiles(dirname(args.file), spec);
    const context = await openLaunchContext(spec, emit).finally(() => progress.finishStep());
    const display = liveBuildDisplay(this.jsonEnabled());
    const environments = await buildEnvironments(context, spec, args.file, display).finally(() => display?.stop());
    const created = await submitLaunch(context, { spec, configFile: args.file, environments, projectFiles, secrets }, emit).finally(() =>
      progress.finishStep(),
    );
    const { client, stack } = created;
    runId = created.runId;
    if (flags.detach) return { runId, resumed: created.resumed };

    progress.finishStep();
    const final = await watchRun(client, runId, flags.wait ? () => undefined : onFollowProgress(progress, true), {
      ...(spec.provider === 'aws'
        ? {
            // An EC2 instance installs Docker and pulls the agent image before its agent says hello.
            agentBootTimeoutMs: 600_000,
            agentLogHint: `see an instance's boot log: aws ec2 get-console-output --latest --instance-id ID (instances tagged katapult:project=${spec.project})`,
          }
        : { agentLogHint: `see the agents' output: docker logs kp-${stack.label}-local-0` }),
      ...(costs ? { cost: (run: RunView) => costs.estimate(runElapsedMs(run, Date.now())) } : {}),
      // On a terminal the counts are one line, redrawn, with a bar; in a pipe each summary is a line of its own.
      ...(flags.wait ? {} : { summaryInPlace: true }),
    });
    progress.stop();
    this.log('');
    this.log(renderRun(final));
    let cost: CostEstimate | undefined;
    if (costs) {
      await costs.load();
      const elapsed = runElapsedMs(final, Date.now());
      cost = costs.estimate(elapsed);
      this.log(formatCostTotal(cost, elapsed));
    }
    const failed = final.jobs.filter((job) => job.state !== 'done');
    if (failed.length > 0) {
      this.log('');
      for (const job of failed) {
        // A skipped job never ran: the line under the table says after which job's failure.
        if (job.state === 'skipped') continue;
        // A job that never started has no log to see; its one-line reason (image pull, no GPU runtime) says it all.
        if (job.reason === 'start_failed' && job.message) this.log(`${job.id}: ${job.state} to start: ${job.message}`);
        else {
          const cause = job.reason === 'timeout' ? ' (timeout)' : '';
          this.log(
            `${job.id}: ${job.state}${job.exitCode === null ? '' : ` with exit code ${job.exitCode}`}${cause}; see: katapult logs ${job.id} --run ${runId}`,
          );
        }
      }
      process.exitCode = ExitCode.jobFailed;
    }
    return cost ? { ...final, cost } : final;
  }
}
