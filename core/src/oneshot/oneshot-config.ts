import { shellQuote } from '../model/shell.js';
import type { ScriptLanguage } from './script-needs.js';

export interface OneShotOptions {
  project: string;
  /** The script, relative to the project folder. */
  script: string;
  args: readonly string[];
  language: ScriptLanguage;
  packages: readonly string[];
  /** Where the packages came from, said in a comment: guessed from the imports, or given with --pip. */
  packagesFrom: 'imports' | 'flag';
  /** Project files to stage beside the script (the script itself is staged as run_script). */
  uploads: readonly string[];
  outputs: readonly string[];
  cpus?: number;
  /** On EC2 instead of this machine: the instance and where this machine's NATS is reached from it. */
  aws?: OneShotAws;
  /** The command line that made it, for the header comment. */
  commandLine: string;
}

export interface OneShotAws {
  type: string;
  region?: string;
  profile?: string;
  /** The host name or IP at which the instance reaches this machine (the config's `maestro_address`). */
  maestroAddress: string;
  /** A spot instance (`eco`), at most this much an hour when given. */
  eco?: boolean;
  maxBid?: number;
}

/** A project or job name from a folder or file name: letters, digits, `-` and `_`, starting with a letter or digit. */
export function nameFrom(text: string, fallback: string): string {
  const name = text
    .replace(/\.[^.]*$/, '')
    .replace(/[^A-Za-z0-9_-]+/g, '-')
    .replace(/^[-_]+|-+$/g, '');
  return name === '' ? fallback : name.slice(0, 60);
}

/**
 * The katapult.yaml equivalent to `katapult run SCRIPT ...`: one instance, one environment, one job. It is what
 * `run` launches and what `--save` writes, so a saved config runs the same thing.
 */
export function oneShotConfigYaml(options: OneShotOptions): string {
  const quoted = (value: string) => JSON.stringify(value);
  const list = (values: readonly string[]) => `[${values.map(quoted).join(', ')}]`;
  const job = nameFrom(options.script.split('/').at(-1)!, 'job');
  const env = options.language === 'python' ? 'python' : 'julia';
  const runScript = [options.script, ...options.args.map((arg) => shellQuote(arg))].join(' ');
  const from = options.packagesFrom === 'imports' ? 'guessed from its imports, less the standard library' : 'given with --pip';
  const environment =
    options.language === 'python'
      ? options.packages.length > 0
        ? [`    env_pypi: ${list(options.packages)}   # ${from}; installed in a venv with python3`]
        : [`    env_aptget: ["python3"]   # no package to install (${from})`]
      : // Julia is installed with the packages; with none to add, a standard library one stands in so Julia is there.
        [
          `    env_julia: ${list(options.packages.length > 0 ? options.packages : ['Printf'])}   # ${options.packages.length > 0 ? from : `none found (${from}); Printf only installs Julia`}`,
        ];
  return [
    `# Made by: ${options.commandLine}`,
    '# The same run as a config: katapult launch katapult.yaml',
    `project: ${quoted(options.project)}`,
    ...awsSettings(options.aws),
    'instances:',
    '  - number: 1',
    ...(options.aws ? awsInstance(options.aws) : []),
    ...(options.cpus === undefined
      ? [options.aws ? "    # cpus: the instance type's" : "    # cpus: this machine's cores"]
      : [`    cpus: ${options.cpus}`]),
    'environments:',
    `  - name: ${env}`,
    ...environment,
    'jobs:',
    `  - name: ${quoted(job)}`,
    `    env_name: ${env}`,
    `    run_script: ${quoted(runScript)}`,
    ...(options.uploads.length > 0 ? [`    upload_files: ${list(options.uploads)}   # the project files it loads`] : []),
    ...(options.outputs.length > 0 ? [`    output_files: ${list(options.outputs)}   # brought back by katapult fetch`] : []),
    ...(options.cpus === undefined ? [] : [`    cpus_req: ${options.cpus}`]),
    '',
  ].join('\n');
}

function awsSettings(aws: OneShotAws | undefined): string[] {
  if (!aws) return [];
  return [
    'provider: aws',
    ...(aws.profile ? [`profile: ${JSON.stringify(aws.profile)}`] : []),
    `maestro_address: ${JSON.stringify(aws.maestroAddress)}   # this machine, as the instance reaches it (NATS's port open to it)`,
    'registry: ecr   # the instance pulls the environment image from ECR',
  ];
}

function awsInstance(aws: OneShotAws): string[] {
  return [
    `    type: ${JSON.stringify(aws.type)}`,
    ...(aws.region ? [`    region: ${JSON.stringify(aws.region)}`] : []),
    ...(aws.eco ? ['    eco: true   # a spot instance'] : []),
    ...(aws.maxBid === undefined ? [] : [`    max_bid: ${aws.maxBid}`]),
  ];
}
