import { Args } from '@oclif/core';
import type { EnvironmentImage } from '@katapult/images';
import { checkDocker, connectDocker } from '@katapult/images';
import { KatapultCommand } from '../base-command.js';
import { readConfigFile } from '../lib/config-file.js';
import { ensureInfrastructure } from '../lib/local-stack.js';
import { buildEnvironments } from '../lib/prepare-images.js';
import { stateDir } from '../lib/state-dir.js';
import { renderTable } from '../render/table.js';

export default class Build extends KatapultCommand {
  static override description = 'build one image per environment and push it to the registry, skipping those already there';
  static override examples = ['<%= config.bin %> build examples/hello/katapult.yaml', '<%= config.bin %> build katapult.yaml --json'];
  static override args = { file: Args.string({ description: 'config file (YAML or JSON)', required: true }) };

  async run(): Promise<EnvironmentImage[]> {
    const { args } = await this.parse(Build);
    const started = Date.now();
    const step = (message: string) => this.log(`[${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s] ${message}`);
    const spec = readConfigFile(args.file);
    const docker = connectDocker();
    await checkDocker(docker);
    const dir = stateDir();
    const stack = await ensureInfrastructure(dir, step);
    const images = await buildEnvironments({ docker, stack, stateDir: dir, onProgress: (e) => step(`${e.step}: ${e.message}`) }, spec, args.file);
    this.log(renderTable(['ENV', 'IMAGE', 'BUILT'], images.map((image) => [image.name, image.ref, image.built ? 'built' : 'reused'])));
    return images;
  }
}
