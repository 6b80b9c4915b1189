import { Args, Flags } from '@oclif/core';
import type { EnvironmentImage } from '@katapult/images';
import { KatapultCommand } from '../base-command.js';
import { readConfigFile } from '@katapult/launcher/project/config-file';
import { openBuildContext, openStack } from '@katapult/launcher/stack/open-stack';
import { liveBuildDisplay, onStepProgress, stepProgress } from '../render/launch-progress.js';
import { buildEnvironments, buildOutcome } from '@katapult/launcher/launch/prepare-images';
import { renderTable } from '../render/table.js';

export default class Build extends KatapultCommand {
  static override description = 'build one image per environment and push it to the registry, skipping those already there';
  static override examples = ['<%= config.bin %> build examples/hello/katapult.yaml', '<%= config.bin %> build katapult.yaml --json'];
  static override args = { file: Args.string({ description: 'config file (YAML or JSON)', required: true }) };
  static override flags = {
    verbose: Flags.boolean({
      char: 'v',
      description: 'print every line of the image builds (debootstrap, docker build) as it comes, instead of one line per step',
    }),
  };

  async run(): Promise<EnvironmentImage[]> {
    const { args, flags } = await this.parse(Build);
    const spec = readConfigFile(args.file);
    const progress = stepProgress({ json: this.jsonEnabled(), verbose: flags.verbose, log: (line) => this.log(line) });
    const emit = onStepProgress(progress);
    // A config naming its registry needs no local stack; the local registry is the default one.
    const context = await (spec.registry ? openBuildContext(emit) : openStack(emit)).finally(() => progress.stop());
    const display = liveBuildDisplay(this.jsonEnabled());
    const images = await buildEnvironments(context, spec, args.file, display).finally(() => display?.stop());
    this.log(
      renderTable(
        ['ENV', 'IMAGE', 'BUILT'],
        images.map((image) => [image.name, image.ref, buildOutcome(image)]),
      ),
    );
    return images;
  }
}
