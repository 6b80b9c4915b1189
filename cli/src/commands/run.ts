import { existsSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { Args, Flags } from '@oclif/core';
import {
  clusterNames,
  ExitCode,
  KatapultError,
  loadConfig,
  oneShotConfigYaml,
  scriptNeeds,
  shellQuote,
  type RunView,
} from '@katapult/core';
import { cpus as machineCpus } from 'node:os';
import { KatapultCommand } from '../base-command.js';
import { fetchRunOutputs } from '@katapult/launcher/files/fetch-outputs';
import { openLaunchContext, submitLaunch } from '@katapult/launcher/launch/launch-run';
import { readLogs } from '@katapult/launcher/follow/log-reader';
import { withNats } from '@katapult/launcher/stack/nats';
import { folderFiles, parseUploadLimit, projectReader, projectScript } from '@katapult/launcher/project/oneshot-files';
import { launchLines, liveBuildDisplay, stepLogger } from '../render/launch-progress.js';
import { followEventLine } from '@katapult/launcher/lines/follow-lines';
import { projectNameFor } from '@katapult/launcher/project/starter-project';
import { buildEnvironments } from '@katapult/launcher/launch/prepare-images';
import { resolveRunFiles } from '@katapult/launcher/files/run-files';
import { watchRun } from '@katapult/launcher/follow/watch-run';

const list = (value: string | undefined) =>
  (value ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');

export default class Run extends KatapultCommand {
  static override description =
    "run one Python or Julia script of the current folder without a config, on the local default (or on an EC2 instance with --type): the environment is guessed from it (python3 and pip packages from its imports, less the standard library; Julia and its packages for .jl), the modules it imports from this folder are uploaded, then it waits, prints the script's output and fetches its output files";
  static override examples = [
    '<%= config.bin %> run analyse.py',
    '<%= config.bin %> run simulate.py 1000 0.5 --outputs results.csv,plot.png --cpus 2',
    '<%= config.bin %> run train.py --pip numpy,scikit-learn --save',
    '<%= config.bin %> run main.py --folder -- --input data/big.csv',
    '<%= config.bin %> run train.py --type c5.xlarge --region eu-west-3 --maestro-address 203.0.113.5 --eco',
    '<%= config.bin %> run train.py --type c5.xlarge --maestro-address 203.0.113.5 --save --dry-run   # writes katapult.yaml, runs nothing',
  ];
  static override usage =
    'run SCRIPT [ARGS...] [--outputs a,b] [--cpus N] [--pip pkgs] [--folder] [--save] [--dry-run] [--type T --maestro-address A [--region R] [--profile P] [--eco] [--max-bid $]]';
  static override strict = false;
  static override args = {
    script: Args.string({ description: 'the script (.py or .jl) in this folder; what follows it is passed to it', required: true }),
  };
  static override flags = {
    outputs: Flags.string({
      description: 'files or folders the script writes, brought back into OUT/<run>/<job>/ (comma-separated)',
      helpValue: 'a,b',
    }),
    cpus: Flags.integer({ description: "cpus for the script (default: this machine's cores)", min: 1 }),
    pip: Flags.string({
      description:
        'packages to install instead of those guessed from the imports (comma-separated; "" for none): pip packages for .py, Julia packages for .jl',
      helpValue: 'pkgs',
    }),
    folder: Flags.boolean({
      description: 'upload every file of the folder (not the hidden ones, caches, results), not only the modules the script imports',
    }),
    'max-upload': Flags.string({ description: 'with --folder: the most it may upload', default: '200m' }),
    save: Flags.boolean({ description: 'also write the equivalent katapult.yaml here (refused if there is one)' }),
    out: Flags.string({ char: 'o', description: 'folder to fetch the outputs into', default: 'results' }),
    'dry-run': Flags.boolean({ description: 'say what would run (and write katapult.yaml with --save), and run nothing' }),
    type: Flags.string({
      description: 'run on one EC2 instance of this type instead of this machine (provider: aws, images in ECR)',
      helpValue: 'T',
    }),
    'maestro-address': Flags.string({
      description: "with --type: this machine's address as the instance reaches it (NATS's port open to it)",
      helpValue: 'A',
      dependsOn: ['type'],
    }),
    region: Flags.string({
      description: "with --type: the instance's region (default: the profile's)",
      helpValue: 'R',
      dependsOn: ['type'],
    }),
    profile: Flags.string({
      description: 'with --type: the AWS profile (credentials and default region)',
      helpValue: 'P',
      dependsOn: ['type'],
    }),
    eco: Flags.boolean({ description: 'with --type: a spot instance', dependsOn: ['type'] }),
    'max-bid': Flags.string({
      description: 'with --eco: the most to pay, $/hour (default: the current spot price)',
      helpValue: '$',
      dependsOn: ['eco'],
    }),
  };

  async run(): Promise<RunView | { dryRun: true; config: string }> {
    const { args, argv, flags } = await this.parse(Run);
    const projectDir = process.cwd();
    const script = projectScript(projectDir, args.script);
    const scriptArgs = (argv as string[]).slice(1);
    const saveTo = join(projectDir, 'katapult.yaml');
    if (flags.save && existsSync(saveTo)) {
      throw new KatapultError('KP_RUN_SAVE_EXISTS', `${saveTo} exists; --save would overwrite it`, {
        exitCode: ExitCode.badInput,
        hint: 'move it away, or launch it: katapult launch katapult.yaml',
      });
    }
    if (flags.type !== undefined && flags['maestro-address'] === undefined) {
      throw new KatapultError(
        'KP_USAGE',
        "--type runs the script on EC2, whose instance must reach this machine's NATS: give --maestro-address",
        {
          exitCode: ExitCode.badInput,
          hint: "this machine's public IP or name, e.g. --maestro-address 203.0.113.5",
        },
      );
    }
    const maxBid = flags['max-bid'] === undefined ? undefined : Number(flags['max-bid']);
    if (maxBid !== undefined && !(maxBid > 0)) {
      throw new KatapultError('KP_USAGE', `--max-bid "${flags['max-bid']}" is not a price in $/hour (e.g. 0.1)`, {
        exitCode: ExitCode.badInput,
      });
    }
    const needs = scriptNeeds(script, projectReader(projectDir));
    const packages = flags.pip === undefined ? needs.packages : list(flags.pip);
    let uploads = needs.files.filter((file) => file !== script);
    if (flags.folder) {
      uploads = folderFiles(projectDir, parseUploadLimit(flags['max-upload'])).files.filter((file) => file !== script);
    }
    const installer = needs.language === 'python' ? 'python3' : 'julia';
    const from = flags.pip === undefined ? `guessed from the imports of ${script}; --pip to change` : 'from --pip';
    this.log(`environment: ${installer}${packages.length > 0 ? ` with ${packages.join(', ')}` : ', no package to install'} (${from})`);
    this.log(
      `files: ${[script, ...uploads].join(', ')}${flags.folder ? ' (the folder)' : ' (the script and the modules it imports from this folder; --folder for all)'}`,
    );

    const yaml = oneShotConfigYaml({
      project: projectNameFor(projectDir),
      script,
      args: scriptArgs,
      language: needs.language,
      packages,
      packagesFrom: flags.pip === undefined ? 'imports' : 'flag',
      uploads,
      outputs: list(flags.outputs),
      ...(flags.cpus === undefined ? {} : { cpus: flags.cpus }),
      ...(flags.type === undefined
        ? {}
        : {
            aws: {
              type: flags.type,
              maestroAddress: flags['maestro-address']!,
              ...(flags.region === undefined ? {} : { region: flags.region }),
              ...(flags.profile === undefined ? {} : { profile: flags.profile }),
              ...(flags.eco ? { eco: true } : {}),
              ...(maxBid === undefined ? {} : { maxBid }),
            },
          }),
      commandLine: ['katapult', 'run', ...process.argv.slice(3).map((arg) => (/^[\w./,=:@-]+$/.test(arg) ? arg : shellQuote(arg)))].join(
        ' ',
      ),
    });
    const configFile = flags.save ? saveTo : join(projectDir, `[katapult run ${basename(script)}]`);
    const spec = loadConfig(yaml, configFile, { defaultCpus: machineCpus().length, localCpuLimit: machineCpus().length });
    if (flags.save) {
      writeFileSync(saveTo, yaml);
      this.log(`saved as ${saveTo}: katapult launch katapult.yaml runs it again`);
    }
    if (flags['dry-run']) {
      this.log(
        `dry run: nothing was started; it would run on ${flags.type === undefined ? 'this machine' : `one ${flags.type} instance on EC2`}`,
      );
      return { dryRun: true, config: yaml };
    }

    const step = stepLogger((line) => this.log(line));
    const projectFiles = await resolveRunFiles(projectDir, spec);
    const context = await openLaunchContext(spec, launchLines(step));
    const display = liveBuildDisplay(this.jsonEnabled());
    const environments = await buildEnvironments(context, spec, configFile, display).finally(() => display?.stop());
    const created = await submitLaunch(context, { spec, configFile, environments, projectFiles }, launchLines(step));
    const final = await watchRun(created.client, created.runId, (event) => step(followEventLine(event)), {
      agentLogHint: `see the agents' output: docker logs kp-${created.stack.label}-local-0`,
    });
    const job = final.jobs[0]!;

    if (!this.jsonEnabled()) {
      this.log(`--- output of ${script} ---`);
      await readLogs({
        nats: created.nats,
        cluster: created.stack.cluster,
        runId: final.id,
        jobId: job.id,
        jobs: async () => final.jobs,
        onRecord: (_job, record) => {
          // Line by line, so that stdout and stderr keep the order the script printed them in.
          if (!('eof' in record)) (record.stream === 'stdout' ? process.stdout : process.stderr).write(`${record.line}\n`);
        },
        caughtUp: async () => true,
      });
      this.log('---');
    }
    const fetched = await withNats(created.nats, (nc) => fetchRunOutputs(nc, clusterNames(created.stack.cluster), final, flags.out));
    for (const { folder, files, missing } of fetched) {
      if (files.length > 0) this.log(`outputs: ${files.join(', ')} -> ${folder}`);
      if (missing.length > 0) this.warn(`${script} did not write ${missing.join(', ')}`);
    }
    if (job.state === 'done') this.log(`${script} done in run ${final.id}`);
    else {
      this.log(
        `${script} ${job.state}${job.exitCode === null ? '' : ` with exit code ${job.exitCode}`}${job.message ? `: ${job.message}` : ''} (run ${final.id})`,
      );
      process.exitCode = ExitCode.jobFailed;
    }
    return final;
  }
}
