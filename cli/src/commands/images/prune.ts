import { Args, Flags } from '@oclif/core';
import { plural } from '@katapult/core/light';
import { ensureBaseImage, environmentImageRef, pruneEnvironmentImages, type EnvironmentImageInfo } from '@katapult/images';
import { connectDocker } from '@katapult/images';
import { dirname } from 'node:path';
import { KatapultCommand } from '../../base-command.js';
import { readConfigFile } from '@katapult/launcher/project/config-file';
import { ensureInfrastructure } from '@katapult/launcher/stack/local-stack';
import { stackStepLine } from '@katapult/launcher/lines/stack-lines';
import { resolveRegistry } from '@katapult/launcher/launch/prepare-images';
import { StateFolder } from '@katapult/launcher/state/state-folder';
import { formatBytes } from '../../render/table.js';

export default class ImagesPrune extends KatapultCommand {
  static override description = 'remove the environment images that none of the given configs uses';
  static override examples = [
    '<%= config.bin %> images prune katapult.yaml other/katapult.yaml --dry-run',
    '<%= config.bin %> images prune katapult.yaml',
  ];
  static override strict = false;
  static override args = { configs: Args.string({ description: 'config files whose environments are kept', required: true }) };
  static override flags = { 'dry-run': Flags.boolean({ description: 'only list what would be removed' }) };

  async run(): Promise<{ dryRun: boolean; removed: EnvironmentImageInfo[] }> {
    const { argv, flags } = await this.parse(ImagesPrune);
    const state = StateFolder.fromEnv();
    const stack = await ensureInfrastructure(state, (step) => this.log(stackStepLine(step)));
    const specs = (argv as string[]).map((file) => ({ file, spec: readConfigFile(file) }));
    // Prunes the registry the first config uses (the local one unless it names another).
    const { registry } = await resolveRegistry(specs[0]!.spec, { stack, state });
    const base = await ensureBaseImage(connectDocker());
    const keep = new Set<string>();
    for (const { file, spec } of specs) {
      for (const env of spec.environments) {
        keep.add((await environmentImageRef({ env, projectDir: dirname(file), base, registry })).tag);
      }
    }
    const removed = await pruneEnvironmentImages(registry, keep, flags['dry-run']);
    const verb = flags['dry-run'] ? 'would remove' : 'removed';
    for (const image of removed) this.log(`${verb} ${image.tag} (${image.environment ?? '-'}, ${formatBytes(image.size)})`);
    this.log(`${verb} ${plural(removed.length, 'image')}; the configs use ${keep.size}`);
    return { dryRun: flags['dry-run'], removed };
  }
}
