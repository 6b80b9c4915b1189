import { Args } from '@oclif/core';
import { plural } from '@katapult/core/light';
import { KatapultCommand } from '../base-command.js';
import { checkConfigFile } from '@katapult/launcher/project/config-file';

export default class Validate extends KatapultCommand {
  static override description = 'check a config file and the files its jobs name, and report every problem with its file, line and field';
  static override examples = ['<%= config.bin %> validate examples/hello/katapult.yaml', '<%= config.bin %> validate katapult.json --json'];
  static override args = { file: Args.string({ description: 'config file (YAML or JSON)', required: true }) };

  async run(): Promise<{ file: string; jobs: number; instances: number; environments: number }> {
    const { args } = await this.parse(Validate);
    const spec = await checkConfigFile(args.file);
    const result = {
      file: args.file,
      jobs: spec.jobs.length,
      instances: spec.instances.reduce((sum, instance) => sum + instance.number, 0),
      environments: spec.environments.length,
    };
    this.log(
      `${args.file} is valid: ${plural(result.jobs, 'job')}, ${plural(result.instances, 'instance')}, ${plural(result.environments, 'environment')}`,
    );
    return result;
  }
}
