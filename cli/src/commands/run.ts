import { existsSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { Args, Flags } from '@oclif/core';
import { clusterNames, ExitCode, KatapultError, loadConfig, oneShotConfigYaml, scriptNeeds, shellQuote, type RunView } from '@katapult/core';
import { cpus as machineCpus } from 'node:os';
import { KatapultCommand } from '../base-command.js';
import { fetchRunOutputs } from '../lib/fetch-outputs.js';
import { openLaunchContext, submitLaunch } from '../lib/launch-run.js';
import { readLogs } from '../lib/log-reader.js';
import { withNats } from '../lib/nats.js';
import { folderFiles, parseUploadLimit, projectReader, projectScript } from '../lib/oneshot-files.js';
import { liveBuildDisplay, stepLogger } from '../lib/open-stack.js';
import { projectNameFor } from '../lib/starter-project.js';
import { buildEnvironments } from '../lib/prepare-images.js';
import { resolveRunFiles } from '../lib/run-files.js';
import { watchRun } from '../lib/watch-run.js';

const list = (value: string | undefined) => (value ?? '').split(',').map((item) => item.trim()).filter((item) => item !== '');

export default class Run extends KatapultCommand {
  static override description =
    "run one Python or Julia script of the current folder without a config, on the local default: the environment is guessed from it (python3 and pip packages from its imports, less the standard library; Julia and its packages for .jl), the modules it imports from this folder are uploaded, then it waits, prints the script's output and fetches its output files";
  static override examples = [
    '<%= config.bin %> run analyse.py',
    '<%= config.bin %> run simulate.py 1000 0.5 --outputs results.csv,plot.png --cpus 2',
    '<%= config.bin %> run train.py --pip numpy,scikit-learn --save',
    '<%= config.bin %> run main.py --folder -- --input data/big.csv',
  ];
  static override usage = 'run SCRIPT [ARGS...] [--outputs a,b] [--cpus N] [--pip pkgs] [--folder] [--save]';
  static override strict = false;
  static override args = { script: Args.string({ description: 'the script (.py or .jl) in this folder; what follows it is passed to it', required: true }) };
  static override flags = {
    outputs: Flags.string({ description: 'files or folders the script writes, brought back into OUT/<run>/<job>/ (comma-separated)', helpValue: 'a,b' }),
    cpus: Flags.integer({ description: "cpus for the script (default: this machine's cores)", min: 1 }),
    pip: Flags.string({ description: 'packages to install instead of those guessed from the imports (comma-separated; "" for none): pip packages for .py, Julia packages for .jl', helpValue: 'pkgs' }),
    folder: Flags.boolean({ description: 'upload every file of the folder (not the hidden ones, caches, results), not only the modules the script imports' }),
    'max-upload': Flags.string({ description: 'with --folder: the most it may upload', default: '200m' }),
    save: Flags.boolean({ description: 'also write the equivalent katapult.yaml here (refused if there is one)' }),
    out: Flags.string({ char: 'o', description: 'folder to fetch the outputs into', default: 'results' }),
  };

  async run(): Promise<RunView> {
    const { args, argv, flags } = await this.parse(Run);
    const projectDir = process.cwd();
    const script = projectScript(projectDir, args.script);
    const scriptArgs = (argv as string[]).slice(1);
    const saveTo = join(projectDir, 'katapult.yaml');
    if (flags.save && existsSync(saveTo)) {
      throw new KatapultError('KP_RUN_SAVE_EXISTS', `${saveTo} exists; --save would overwrite it`, { exitCode: ExitCode.badInput, hint: 'move it away, or launch it: katapult launch katapult.yaml' });
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
    this.log(`files: ${[script, ...uploads].join(', ')}${flags.folder ? ' (the folder)' : " (the script and the modules it imports from this folder; --folder for all)"}`);

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
      commandLine: ['katapult', 'run', ...process.argv.slice(3).map((arg) => (/^[\w./,=:@-]+$/.test(arg) ? arg : shellQuote(arg)))].join(' '),
    });
    const configFile = flags.save ? saveTo : join(projectDir, `[katapult run ${basename(script)}]`);
    const spec = loadConfig(yaml, configFile, { defaultCpus: machineCpus().length, localCpuLimit: machineCpus().length });
    if (flags.save) {
      writeFileSync(saveTo, yaml);
      this.log(`saved as ${saveTo}: katapult launch katapult.yaml runs it again`);
    }

    const step = stepLogger((line) => this.log(line));
    const projectFiles = await resolveRunFiles(projectDir, spec);
    const context = await openLaunchContext(spec, step);
    const display = liveBuildDisplay(this.jsonEnabled());
    const environments = await buildEnvironments(context, spec, configFile, display).finally(() => display?.stop());
    const created = await submitLaunch(context, { spec, configFile, environments, projectFiles }, step);
    const final = await watchRun(created.client, created.runId, step, { agentLogHint: `see the agents' output: docker logs kp-${created.stack.label}-local-0` });
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
      this.log(`${script} ${job.state}${job.exitCode === null ? '' : ` with exit code ${job.exitCode}`}${job.message ? `: ${job.message}` : ''} (run ${final.id})`);
      process.exitCode = ExitCode.jobFailed;
    }
    return final;
  }
}
