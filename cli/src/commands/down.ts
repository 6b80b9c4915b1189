import { Args, Flags } from '@oclif/core';
import { KatapultCommand } from '../base-command.js';
import type { AwsDownReport } from '@katapult/launcher/aws/aws-down';
import { readConfigFile } from '@katapult/launcher/project/config-file';
import type { DownReport } from '@katapult/launcher/stack/local-stack';
import { downLocalStack } from '@katapult/launcher/stack/down-stack';
import type { OnDownEvent } from '@katapult/launcher/stack/down-events';
import { downEventLine } from '@katapult/launcher/lines/down-lines';
import { StateFolder } from '@katapult/launcher/state/state-folder';
import { forgetRemoteStack, readRemoteStack } from '@katapult/launcher/state/remote-stack';

export default class Down extends KatapultCommand {
  static override description =
    'stop every agent and job container and the servers Katapult started (data and images are kept); with a config whose provider is aws, also remove every AWS resource of its project';
  static override examples = [
    '<%= config.bin %> down',
    '<%= config.bin %> down --json',
    '<%= config.bin %> down --images   # also the local copies of the images agents pulled',
    "<%= config.bin %> down aws.yaml --dry-run   # lists the project's instances, security groups, role, profile, key pair, network",
    '<%= config.bin %> down aws.yaml             # stops the coordinator first, so nothing is relaunched, then removes them',
    '<%= config.bin %> down aws.yaml --images    # also deletes the ECR repositories tagged with the project, images included',
  ];
  static override args = {
    config: Args.string({ description: "a katapult.yaml; with provider: aws, its project's AWS resources are removed too" }),
  };
  static override flags = {
    'dry-run': Flags.boolean({ description: 'list what would be removed and remove nothing' }),
    images: Flags.boolean({
      description:
        "also remove the images: this machine's local tags of images pulled from the stack's registry (127.0.0.1:<port>/katapult/*, every port it has had; the registry keeps them), and with an aws config the ECR repositories tagged with its project, with every image in them (kept by default: teammates' launches share them)",
    }),
  };

  async run(): Promise<DownReport & { aws?: AwsDownReport }> {
    const { args, flags } = await this.parse(Down);
    const spec = args.config ? readConfigFile(args.config) : undefined;
    const dryRun = flags['dry-run'];
    const images = flags.images;
    const state = StateFolder.fromEnv();
    const emit: OnDownEvent = (event) => this.log(downEventLine(event));
    const remote = readRemoteStack(state);
    if (remote && spec?.provider === 'aws' && spec.project === remote.project) {
      const aws = await downAws(spec, { dryRun, images, emit });
      if (!dryRun) forgetRemoteStack(state);
      return { containers: [], processes: [], aws };
    }
    const report = await downLocalStack(state, { dryRun, images, emit });
    if (spec?.provider !== 'aws') return report;
    const aws = await downAws(spec, { dryRun, images, emit });
    return { ...report, aws };
  }
}

/** Loaded only for a config on AWS: the SDK's clients take half a second to load. */
async function downAws(...args: Parameters<typeof import('@katapult/launcher/aws/aws-down').downAwsProject>): Promise<AwsDownReport> {
  return (await import('@katapult/launcher/aws/aws-down')).downAwsProject(...args);
}
