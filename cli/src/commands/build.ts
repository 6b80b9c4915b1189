import { Args } from '@oclif/core';
import type { EnvironmentImage } from '@katapult/images';
import { KatapultCommand } from '../base-command.js';
import { readConfigFile } from '../lib/config-file.js';
import { liveBuildDisplay, openBuildContext, openStack, stepLogger } from '../lib/open-stack.js';
import { buildEnvironments, buildOutcome } from '../lib/prepare-images.js';
import { renderTable } from '../render/table.js';

export default class Build extends KatapultCommand {
  static override description = 'build one image per environment and push it to the registry, skipping those already there';
  static override examples = ['<%= config.bin %> build examples/hello/katapult.yaml', '<%= config.bin %> build katapult.yaml --json'];
  static override args = { file: Args.string({ description: 'config file (YAML or JSON)', required: true }) };

  async run(): Promise<EnvironmentImage[]> {
    const { args } = await this.parse(Build);
    const spec = readConfigFile(args.file);
    const step = stepLogger((line) => this.log(line));
    // A config naming its registry needs no local stack; the local registry is the default one.
    const context = spec.registry ? await openBuildContext(step) : await openStack(step);
    const display = liveBuildDisplay(this.jsonEnabled());
    const images = await buildEnvironments(context, spec, args.file, display).finally(() => display?.stop());
    this.log(renderTable(['ENV', 'IMAGE', 'BUILT'], images.map((image) => [image.name, image.ref, buildOutcome(image)])));
    return images;
  }
}
