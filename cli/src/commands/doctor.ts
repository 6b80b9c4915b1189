import { homedir } from 'node:os';
import { ExitCode } from '@katapult/core/light';
import { KatapultCommand } from '../base-command.js';
import { runDoctorChecks, type CheckResult } from '@katapult/launcher/doctor/doctor-checks';
import { StateFolder } from '@katapult/launcher/state/state-folder';
import { renderTable } from '../render/table.js';

export default class Doctor extends KatapultCommand {
  static override description =
    'check what Katapult needs here (Docker, nats-server, the registry, debootstrap, the local stack, AWS credentials) and say how to fix what is missing';
  static override examples = ['<%= config.bin %> doctor', '<%= config.bin %> doctor --json'];

  async run(): Promise<{ ok: boolean; checks: CheckResult[] }> {
    await this.parse(Doctor);
    const checks = await runDoctorChecks({ env: process.env, home: homedir(), state: StateFolder.fromEnv() });
    this.log(
      renderTable(
        ['CHECK', 'STATUS', 'DETAIL'],
        checks.map((check) => [check.name, check.status, check.detail]),
      ),
    );
    const ok = checks.every((check) => check.status !== 'fail');
    if (!ok) process.exitCode = ExitCode.infrastructure;
    return { ok, checks };
  }
}
