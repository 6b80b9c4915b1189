import { Flags } from '@oclif/core';
import { listEnvironmentImages, type EnvironmentImageInfo } from '@katapult/images';
import { KatapultCommand } from '../../base-command.js';
import { StateFolder } from '@katapult/launcher/state/state-folder';
import { ensureInfrastructure } from '@katapult/launcher/stack/local-stack';
import { stackStepLine } from '@katapult/launcher/lines/stack-lines';
import { resolveRegistry } from '@katapult/launcher/launch/prepare-images';
import { renderImages } from '../../render/images.js';

export default class ImagesLs extends KatapultCommand {
  static override description = 'list the environment images in the registry, with size, creation time and environment';
  static override examples = ['<%= config.bin %> images ls', '<%= config.bin %> images ls --registry registry.example.com:5000 --json'];
  static override flags = {
    registry: Flags.string({ helpValue: 'HOST', description: 'registry to list: host:port, a URL, or ecr (default: the local one)' }),
    profile: Flags.string({ helpValue: 'PROFILE', description: 'AWS profile, with --registry ecr' }),
  };

  async run(): Promise<EnvironmentImageInfo[]> {
    const { flags } = await this.parse(ImagesLs);
    const state = StateFolder.fromEnv();
    const stack = await ensureInfrastructure(state, (step) => this.log(stackStepLine(step)));
    const { registry } = await resolveRegistry(
      { registry: flags.registry ?? null, profile: flags.profile ?? null, project: 'katapult', instances: [] },
      { stack, state },
    );
    const images = await listEnvironmentImages(registry);
    this.log(renderImages(images));
    return images;
  }
}
