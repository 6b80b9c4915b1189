import { Flags } from '@oclif/core';
import { ExitCode, KatapultError } from '@katapult/core/light';
import { KatapultCommand } from '../base-command.js';
import type { AwsLsReport } from '@katapult/launcher/aws/aws-ls';
import { renderTable } from '../render/table.js';

export default class Ls extends KatapultCommand {
  static override description =
    'list every AWS resource tagged katapult:project, of any project (orphans too): instances with their age and hourly price, security groups, key pairs, networks, IAM roles and profiles, ECR repositories';
  static override examples = [
    '<%= config.bin %> ls --aws',
    '<%= config.bin %> ls --aws --all-regions --json',
    '<%= config.bin %> ls --aws --profile work --region eu-west-3',
  ];
  static override flags = {
    aws: Flags.boolean({ description: 'list AWS resources (the only kind for now)', required: true }),
    'all-regions': Flags.boolean({ description: "look in every region the account has enabled, not only the profile's" }),
    region: Flags.string({ description: "the region to look in (default: the profile's)" }),
    profile: Flags.string({ description: 'the AWS profile (default: AWS_PROFILE or the default one)' }),
  };

  async run(): Promise<AwsLsReport> {
    const { flags } = await this.parse(Ls);
    if (flags['all-regions'] && flags.region) {
      throw new KatapultError('KP_USAGE', '--all-regions and --region cannot be given together', { exitCode: ExitCode.badInput });
    }
    const { formatAge, listAwsResources } = await import('@katapult/launcher/aws/aws-ls');
    const report = await listAwsResources({
      profile: flags.profile ?? null,
      region: flags.region ?? null,
      allRegions: flags['all-regions'],
    });
    const where = report.regions.length === 1 ? report.regions[0] : `${report.regions.length} regions`;
    if (report.resources.length === 0) {
      this.log(`no AWS resource is tagged katapult:project in ${where}`);
      return report;
    }
    const rows = report.resources.map((row) => [
      row.project,
      row.kind,
      row.id,
      row.region ?? 'global',
      row.detail || '-',
      formatAge(row.ageSeconds),
      row.perHour === null ? '-' : `$${row.perHour.toFixed(4)}`,
    ]);
    this.log(renderTable(['PROJECT', 'KIND', 'ID', 'REGION', 'DETAIL', 'AGE', '$/H'], rows));
    const perHour = report.resources.reduce((sum, row) => sum + (row.perHour ?? 0), 0);
    const instances = report.resources.filter((row) => row.kind === 'instance').length;
    this.log(`${report.resources.length} resources in ${where}, ${instances} instances${perHour > 0 ? `, $${perHour.toFixed(2)}/h` : ''}`);
    if (report.pricesUnavailable && instances > 0) this.log(`prices unavailable: ${report.pricesUnavailable}`);
    return report;
  }
}
