import { Args, Flags } from '@oclif/core';
import { ExitCode, type RunView } from '@katapult/core';
import { checkDocker, connectDocker } from '@katapult/images';
import { KatapultCommand } from '../base-command.js';
import { CoordinatorClient } from '../lib/client.js';
import { readConfigFile } from '../lib/config-file.js';
import { REPO_ROOT } from '../lib/context.js';
import { coordinatorUrl, ensureCoordinator, ensureInfrastructure } from '../lib/local-stack.js';
import { buildEnvironments, prepareAgentImage, type BuildContext } from '../lib/prepare-images.js';
import { stateDir } from '../lib/state-dir.js';
import { watchRun } from '../lib/watch-run.js';
import { renderRun } from '../render/run-view.js';

const LAYER_CHATTER = /^[0-9a-f]{12}: (Preparing|Waiting|Pushing|Pushed|Layer already exists)$/;

export default class Launch extends KatapultCommand {
  static override description = 'start the stack and instances if needed, submit the jobs of a config, and follow them to the end';
  static override examples = [
    '<%= config.bin %> launch examples/hello/katapult.yaml',
    '<%= config.bin %> launch katapult.yaml --detach',
    '<%= config.bin %> launch katapult.yaml --json',
  ];
  static override args = { file: Args.string({ description: 'config file (YAML or JSON)', required: true }) };
  static override flags = {
    detach: Flags.boolean({ description: 'return as soon as the run is submitted' }),
  };

  async run(): Promise<RunView | { runId: string }> {
    const { args, flags } = await this.parse(Launch);
    const started = Date.now();
    const step = (message: string) => this.log(`[${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s] ${message}`);
    const spec = readConfigFile(args.file);
    const docker = connectDocker();
    await checkDocker(docker);
    const dir = stateDir();
    let stack = await ensureInfrastructure(dir, step);
    const context: BuildContext = {
      docker,
      stack,
      stateDir: dir,
      onProgress: (event) => {
        // Docker repeats per-layer transfer states many times a second; the step lines are what a user follows.
        if (!LAYER_CHATTER.test(event.message)) step(`${event.step}: ${event.message}`);
      },
    };
    const environments = await buildEnvironments(context, spec, args.file);
    stack = await ensureCoordinator(dir, stack, await prepareAgentImage(context, REPO_ROOT), step);
    const client = new CoordinatorClient(coordinatorUrl(stack));
    const images = Object.fromEntries(environments.map((image) => [image.name, image.ref]));
    const { runId } = await client.createRun({ spec, configFile: args.file, images });
    step(`run ${runId} submitted: ${spec.jobs.length} jobs on ${spec.instances.reduce((n, i) => n + i.number, 0)} instances`);
    if (flags.detach) return { runId };

    // Ctrl-C stops following, not the run: the coordinator and agents carry on without this process.
    process.once('SIGINT', () => {
      process.stderr.write(`\ndetached from run ${runId}; it goes on. Follow it with: katapult status ${runId}\n`);
      process.exit(ExitCode.interrupted);
    });
    const final = await watchRun(client, runId, (line) => step(line), {
      agentLogHint: `see the agents' output: docker logs kp-${stack.label}-local-0`,
    });
    this.log('');
    this.log(renderRun(final));
    const failed = final.jobs.filter((job) => job.state !== 'done');
    if (failed.length > 0) {
      this.log('');
      for (const job of failed) this.log(`${job.id}: ${job.state}${job.exitCode === null ? '' : ` with exit code ${job.exitCode}`}; see: katapult logs ${job.id} --run ${runId}`);
      process.exitCode = ExitCode.jobFailed;
    }
    return final;
  }
}
