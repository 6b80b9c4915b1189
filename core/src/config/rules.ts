import type { ConfigIssue } from '../errors.js';
import { EnvNamePattern, type RawConfig } from './schema.js';
import { formatPath, type FieldPath, type ParsedConfig } from './parse.js';
import { closest } from './schema-issues.js';
import { checkRelativePath } from '../model/paths.js';
import { normalizeRelative, splitRunScript } from '../model/job-files.js';
import { formatMemory, parseMemory } from '../model/memory.js';
import { parseDuration } from '../model/duration.js';
import { formatGpus, instanceGpus } from '../model/gpus.js';
import type { NormalizeOptions } from './normalize.js';
import { RESERVED_ENV_PREFIX } from '../model/job-env.js';
import { missingInterpreter } from '../model/interpreters.js';
import { dependencyIssues } from '../model/dependencies.js';

/** Rules that span fields, checked once the shape is right. Returns every problem, not just the first. */
export function crossFieldIssues(raw: RawConfig, parsed: ParsedConfig, options: NormalizeOptions): ConfigIssue[] {
  const { defaultCpus, localCpuLimit } = options;
  const issues: ConfigIssue[] = [];
  const add = (path: FieldPath, message: string) => issues.push({ path: formatPath(path), message, ...parsed.locate(path) });

  const environments = raw.environments ?? [];
  const envNames = environments.map((env) => env.name).filter((name): name is string => typeof name === 'string');
  environments.forEach((env, i) => {
    if ((env.name === null || env.name === undefined) && environments.length > 1) {
      add(['environments', i, 'name'], 'is required when there are several environments');
    } else if (env.name && envNames.indexOf(env.name) !== i) {
      add(['environments', i, 'name'], `"${env.name}" is already the name of another environment`);
    }
  });

  const memoryOf = (path: FieldPath, value: string | number | null | undefined): number | null | undefined => {
    if (value === null || value === undefined) return null;
    const parsed = parseMemory(value);
    if (parsed.ok) return parsed.bytes;
    add(path, parsed.problem);
    return undefined;
  };
  const instances = raw.instances?.length ? raw.instances : [{}];
  const largestInstance = Math.max(...instances.map((i) => i.cpus ?? defaultCpus));
  const mostGpus = Math.max(...instances.map(instanceGpus));
  const instanceMemory = (raw.instances ?? []).map((instance, i) => memoryOf(['instances', i, 'memory'], instance.memory));
  // A job can only be too big for the instances when every one of them says how much memory it has.
  const largestMemory =
    instanceMemory.length > 0 && instanceMemory.every((bytes) => typeof bytes === 'number') ? Math.max(...instanceMemory) : null;
  (raw.instances ?? []).forEach((instance, i) => {
    if (raw.provider !== 'aws' && localCpuLimit !== undefined && typeof instance.cpus === 'number' && instance.cpus > localCpuLimit) {
      add(
        ['instances', i, 'cpus'],
        `${instance.cpus} exceeds the ${localCpuLimit} cpus this machine's Docker can give a container (local provider)`,
      );
    }
    if (instance.eco_life === null || instance.eco_life === undefined) return;
    const life = parseDuration(instance.eco_life);
    if (!life.ok) add(['instances', i, 'eco_life'], life.problem);
  });
  awsPlacementIssues(raw, add);
  const reservedNames = (path: FieldPath, env: RawConfig['env']) => {
    for (const key of Object.keys(env ?? {})) {
      if (!new RegExp(EnvNamePattern).test(key))
        add([...path, key], `"${key}" is not a variable name: letters, digits and "_", not starting with a digit`);
      else if (key.startsWith(RESERVED_ENV_PREFIX))
        add([...path, key], `${RESERVED_ENV_PREFIX}* variables are set by Katapult itself; pick another name`);
    }
  };
  reservedNames(['env'], raw.env);
  const secretNames = (path: FieldPath, names: readonly string[] | null | undefined, env: RawConfig['env']) =>
    (names ?? []).forEach((name, n) => {
      if (!new RegExp(EnvNamePattern).test(name))
        add([...path, n], `"${name}" is not a variable name: letters, digits and "_", not starting with a digit`);
      else if (name.startsWith(RESERVED_ENV_PREFIX))
        add([...path, n], `${RESERVED_ENV_PREFIX}* variables are set by Katapult itself; pick another name`);
      else if (env && name in env)
        add(
          [...path, n],
          `"${name}" is also given a value in env; a secret's value comes only from this machine's environment or --secrets-file`,
        );
    });
  secretNames(['secrets'], raw.secrets, raw.env);
  const jobNames = new Map<string, number>();
  raw.jobs.forEach((job, i) => {
    if (!job.run_command && !job.run_script) add(['jobs', i], 'needs run_script or run_command');
    reservedNames(['jobs', i, 'env'], job.env);
    secretNames(['jobs', i, 'secrets'], job.secrets, { ...raw.env, ...job.env });
    if (job.retry_on_exit_codes && !job.retries)
      add(['jobs', i, 'retry_on_exit_codes'], 'says which exit codes are retried, but the job has no retries; set retries: N');
    if (job.timeout !== null && job.timeout !== undefined) {
      const timeout = parseDuration(job.timeout);
      if (!timeout.ok) add(['jobs', i, 'timeout'], timeout.problem);
    }
    if (job.run_script) {
      const { script } = splitRunScript(job.run_script);
      const problem = checkRelativePath(script);
      if (problem) add(['jobs', i, 'run_script'], problem);
      const environment = job.env_name
        ? environments.find((env) => env.name === job.env_name)
        : environments.length <= 1
          ? (environments[0] ?? {})
          : undefined;
      const missing = !problem && environment ? missingInterpreter(script, environment) : undefined;
      if (missing) {
        const envName = environment?.name ?? (environments.length === 0 ? 'default' : 'environments[0]');
        add(
          ['jobs', i, 'run_script'],
          `"${script}" runs with ${missing.interpreter}, which environment "${envName}" does not install; add ${missing.fix} to it`,
        );
      }
    }
    if (job.env_name === null || job.env_name === undefined) {
      if (environments.length > 1) add(['jobs', i, 'env_name'], 'is required when there are several environments');
    } else if (!envNames.includes(job.env_name) && !(environments.length === 0 && job.env_name === 'default')) {
      const suggestion = closest(job.env_name, envNames);
      add(['jobs', i, 'env_name'], `no environment is named "${job.env_name}"${suggestion ? `; did you mean ${suggestion}?` : ''}`);
    }
    // On AWS an instance without `cpus` has its type's vCPUs, which only EC2 knows.
    const cpusKnown = raw.provider !== 'aws' || instances.every((instance) => instance.cpus !== null && instance.cpus !== undefined);
    if (cpusKnown && (job.cpus_req ?? 1) > largestInstance) {
      add(['jobs', i, 'cpus_req'], `${job.cpus_req} exceeds the largest instance (${largestInstance} cpus)`);
    }
    if ((job.gpus_req ?? 0) > mostGpus) {
      add(
        ['jobs', i, 'gpus_req'],
        mostGpus === 0
          ? `${job.gpus_req} exceeds the largest instance (no GPU); give an instance \`gpus\` or a \`gpu\` type`
          : `${job.gpus_req} exceeds the largest instance (${formatGpus(mostGpus)})`,
      );
    }
    const memory = memoryOf(['jobs', i, 'memory'], job.memory);
    if (typeof memory === 'number' && largestMemory !== null && memory > largestMemory) {
      add(['jobs', i, 'memory'], `${formatMemory(memory)} exceeds the largest instance's memory (${formatMemory(largestMemory)})`);
    }
    // Each need may fit some instance while no one instance (pool) holds them all: the job would wait forever.
    const cpusReq = job.cpus_req ?? 1;
    const gpusReq = job.gpus_req ?? 0;
    const fitsOne = (instance: (typeof instances)[number], index: number) => {
      const bytes = instanceMemory[index];
      return (
        (!cpusKnown || cpusReq <= (instance.cpus ?? defaultCpus)) &&
        gpusReq <= instanceGpus(instance) &&
        (typeof memory !== 'number' || typeof bytes !== 'number' || memory <= bytes)
      );
    };
    const eachFitsSome =
      (!cpusKnown || cpusReq <= largestInstance) &&
      gpusReq <= mostGpus &&
      !(typeof memory === 'number' && largestMemory !== null && memory > largestMemory);
    if (eachFitsSome && !instances.some(fitsOne)) {
      const needs = [
        `${cpusReq} cpus`,
        ...(gpusReq > 0 ? [formatGpus(gpusReq)] : []),
        ...(typeof memory === 'number' ? [formatMemory(memory)] : []),
      ];
      add(['jobs', i], `needs ${needs.join(' and ')} on one instance, and no instances entry has them all`);
    }
    if (job.network === 'host' && raw.allow_host_network !== true) {
      add(
        ['jobs', i, 'network'],
        '"host" gives the job this machine\'s network, 127.0.0.1 included; set allow_host_network: true at the top level to allow it',
      );
    }
    const name = job.name ?? `job-${i + 1}`;
    if (jobNames.has(name)) add(['jobs', i, 'name'], `"${name}" is already the name of jobs[${jobNames.get(name)}]`);
    jobNames.set(name, i);
    for (const key of ['upload_files', 'input_files', 'output_files'] as const) {
      const value = job[key];
      const paths = typeof value === 'string' ? [value] : (value ?? []);
      paths.forEach((path, p) => {
        const problem =
          checkRelativePath(path) ??
          (normalizeRelative(path) === '' ? `"${path}" is the project folder itself; name a file or folder in it` : undefined);
        if (problem) add(typeof value === 'string' ? ['jobs', i, key] : ['jobs', i, key, p], problem);
      });
    }
  });
  const nodes = raw.jobs.map((job, i) => ({ name: job.name ?? `job-${i + 1}`, after: [...(job.after ?? []), ...(job.inputs_from ?? [])] }));
  for (const issue of dependencyIssues(nodes, closest)) {
    const afterCount = raw.jobs[issue.job]!.after?.length ?? 0;
    const path: FieldPath =
      issue.position === undefined
        ? ['jobs', issue.job, afterCount > 0 ? 'after' : 'inputs_from']
        : issue.position < afterCount
          ? ['jobs', issue.job, 'after', issue.position]
          : ['jobs', issue.job, 'inputs_from', issue.position - afterCount];
    add(path, issue.message);
  }
  return issues;
}

/** `host`, `host:port`, or an IPv4 address with an optional port: what goes between `tls://` and the path. */
const ADDRESS = /^(?=.{1,253}(:\d+)?$)[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*(:(\d{1,5}))?$/;

const AMI_ID = /^ami-[0-9a-f]{8,17}$/;

const CIDR = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}\/(3[0-2]|[12]?\d)$/;

/**
 * On AWS the instances dial back to this machine and pull from a registry they can reach, so both must be
 * said: this machine's local registry and 127.0.0.1 mean nothing to an EC2 instance.
 */
function awsPlacementIssues(raw: RawConfig, add: (path: FieldPath, message: string) => void): void {
  const address = raw.maestro_address;
  if (address) {
    const port = Number(ADDRESS.exec(address)?.[6] ?? 1);
    if (!ADDRESS.test(address) || port < 1 || port > 65_535)
      add(['maestro_address'], `"${address}" is not a host name or IP address with an optional :port`);
  }
  const maestroImage = raw.maestro_img_id;
  if (maestroImage && !AMI_ID.test(maestroImage)) add(['maestro_img_id'], `"${maestroImage}" is not an AMI id like ami-0abcdef1234567890`);
  const cidr = raw.maestro_cidr;
  if (cidr && !CIDR.test(cidr)) add(['maestro_cidr'], `"${cidr}" is not an IPv4 address range like 198.51.100.7/32`);
  if (raw.maestro === 'remote' && raw.provider !== 'aws') add(['maestro'], '"remote" needs provider: aws (the maestro is an EC2 instance)');
  if (raw.provider !== 'aws') return;
  if (raw.maestro === 'remote') {
    if (!cidr) add(['maestro_cidr'], 'is required with maestro: remote: the addresses allowed to reach the maestro, e.g. your IP/32');
    (raw.instances ?? []).forEach((instance, index) => {
      if (Array.isArray(instance.region) && instance.region.length > 1) {
        add(
          ['instances', index, 'region'],
          "a list needs maestro: local: agents dial the maestro's private address, which instances in other regions cannot reach",
        );
      }
    });
  } else if (!address)
    add(['maestro_address'], 'is required with provider: aws: the host name or IP at which the instances reach this machine');
  if (!raw.registry) add(['registry'], 'is required with provider: aws, as instances cannot reach the local registry; use "ecr"');
}
