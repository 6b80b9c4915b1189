import { connectDocker } from '@katapult/images';
import { KatapultCommand } from '../base-command.js';
import { stopStack, type DownReport } from '../lib/local-stack.js';
import { stateDir } from '../lib/state-dir.js';

export default class Down extends KatapultCommand {
  static override description = 'stop every agent and job container and the servers Katapult started (data and images are kept)';
  static override examples = ['<%= config.bin %> down', '<%= config.bin %> down --json'];

  async run(): Promise<DownReport> {
    await this.parse(Down);
    const report = await stopStack(stateDir(), connectDocker());
    for (const name of report.containers) this.log(`removed container ${name}`);
    for (const name of report.processes) this.log(`stopped ${name}`);
    if (report.containers.length === 0 && report.processes.length === 0) this.log('nothing was running');
    return report;
  }
}
