import type { RawConfig, RawEnvironment, RawInstance, RawJob } from './schema.js';
import { parseMemory } from '../model/memory.js';
import { parseDuration } from '../model/duration.js';
import { instanceGpus } from '../model/gpus.js';
import {
  DEFAULT_AUTO_STOP_SECONDS,
  DEFAULT_ENVIRONMENT,
  DEFAULT_MAX_ATTEMPTS,
  DEFAULT_PROJECT,
  type EnvironmentSpec,
  type InstanceSpec,
  type JobSpec,
  type RunSpec,
} from '../model/run-spec.js';

export interface NormalizeOptions {
  /** CPUs of an instance whose `cpus` is not given (for the local provider: this machine's cores). */
  defaultCpus: number;
  /** The most cpus this machine's Docker gives one container: a local instance may not offer more. Unset: not checked. */
  localCpuLimit?: number;
}

/** Applies the original tool's defaults and expands `repeat`; assumes the raw config passed the schema. */
export function normalizeConfig(raw: RawConfig, options: NormalizeOptions): RunSpec {
  const environments = (raw.environments ?? []).map(normalizeEnvironment);
  if (environments.length === 0) environments.push(normalizeEnvironment({}));
  const onlyEnvironment = environments.length === 1 ? environments[0]!.name : undefined;
  return {
    project: raw.project ?? DEFAULT_PROJECT,
    provider: raw.provider ?? 'local',
    maestro: raw.maestro ?? 'local',
    maestroAddress: raw.maestro_address ?? null,
    maestroType: raw.maestro_type ?? null,
    maestroImgId: raw.maestro_img_id ?? null,
    maestroCidr: raw.maestro_cidr ?? null,
    jobAssign: raw.job_assign ?? 'multi_knapsack',
    autoStopSeconds:
      raw.auto_stop === false ? null : raw.auto_stop === true || raw.auto_stop == null ? DEFAULT_AUTO_STOP_SECONDS : raw.auto_stop,
    maxAttempts: raw.max_attempts ?? DEFAULT_MAX_ATTEMPTS,
    maxHourlyCost: raw.max_hourly_cost ?? null,
    maxCost: raw.max_cost ?? null,
    recover: raw.recover ?? true,
    mutualizeUploads: raw.mutualize_uploads ?? true,
    allowHostNetwork: raw.allow_host_network ?? false,
    registry: raw.registry ?? null,
    profile: raw.profile ?? null,
    instances: (raw.instances?.length ? raw.instances : [{}]).map((instance, group) => normalizeInstance(instance, group, options)),
    environments,
    jobs: withDependencies(
      raw.jobs,
      raw.jobs.flatMap((job, index) => expandJob(job, index, onlyEnvironment, raw.env, raw.secrets)),
    ),
  };
}

function normalizeInstance(raw: RawInstance, group: number, options: NormalizeOptions): InstanceSpec {
  return {
    group,
    type: (Array.isArray(raw.type) ? raw.type[0] : raw.type) ?? null,
    fallbackTypes: Array.isArray(raw.type) ? raw.type.slice(1) : [],
    cpus: raw.cpus ?? options.defaultCpus,
    cpusGiven: raw.cpus !== null && raw.cpus !== undefined,
    number: raw.number ?? 1,
    eco: raw.eco ?? false,
    ecoLife: raw.eco_life ?? null,
    ecoFallback: raw.eco_fallback ?? true,
    maxBid: raw.max_bid ?? null,
    region: (Array.isArray(raw.region) ? raw.region[0] : raw.region) ?? null,
    fallbackRegions: Array.isArray(raw.region) ? raw.region.slice(1) : [],
    imgId: raw.img_id ?? null,
    gpu: raw.gpu ?? null,
    gpus: instanceGpus(raw),
    diskSize: raw.disk_size ?? null,
    diskType: raw.disk_type ?? null,
    explode: raw.explode ?? true,
    memoryBytes: memoryBytes(raw.memory),
  };
}

function normalizeEnvironment(raw: RawEnvironment): EnvironmentSpec {
  return {
    name: raw.name ?? DEFAULT_ENVIRONMENT,
    ...(raw.image ? { image: raw.image.trim() } : {}),
    command: raw.command ?? null,
    aptget: toList(raw.env_aptget),
    conda: toList(raw.env_conda),
    condaChannels: toList(raw.env_conda_channels),
    pypi: toList(raw.env_pypi),
    julia: toList(raw.env_julia),
  };
}

function expandJob(
  raw: RawJob,
  index: number,
  onlyEnvironment: string | undefined,
  runEnv: RawConfig['env'],
  runSecrets: RawConfig['secrets'],
): JobSpec[] {
  const name = raw.name ?? `job-${index + 1}`;
  const repeat = raw.repeat ?? 1;
  const base: Omit<JobSpec, 'id'> = {
    envName: raw.env_name ?? onlyEnvironment ?? DEFAULT_ENVIRONMENT,
    cpusReq: raw.cpus_req ?? 1,
    gpusReq: raw.gpus_req ?? 0,
    runCommand: raw.run_command ?? null,
    runScript: raw.run_script ?? null,
    uploadFiles: toList(raw.upload_files),
    inputFiles: toList(raw.input_files),
    outputFiles: toList(raw.output_files),
    retries: raw.retries ?? 0,
    retryOnExitCodes: raw.retry_on_exit_codes ? [...new Set(raw.retry_on_exit_codes)] : null,
    memoryBytes: memoryBytes(raw.memory),
    network: raw.network ?? 'bridge',
    env: { ...envStrings(runEnv), ...envStrings(raw.env) },
    secrets: [...new Set([...(runSecrets ?? []), ...(raw.secrets ?? [])])].sort(),
    timeoutSeconds: raw.timeout === null || raw.timeout === undefined ? null : durationSeconds(raw.timeout),
  };
  if (repeat === 1) return [{ id: name, ...base, copyIndex: 0, copyCount: 1 }];
  return Array.from({ length: repeat }, (_, copy) => ({ id: `${name}-${copy + 1}`, ...base, copyIndex: copy, copyCount: repeat }));
}

/**
 * `after` and `inputs_from` by job id: a repeated job's name stands for each of its copies, whose outputs are
 * staged under `<name>-<k>/`; a single job's go at their own paths.
 */
function withDependencies(rawJobs: readonly RawJob[], jobs: JobSpec[]): JobSpec[] {
  const idsOf = new Map<string, string[]>();
  rawJobs.forEach((raw, index) => {
    const name = raw.name ?? `job-${index + 1}`;
    const repeat = raw.repeat ?? 1;
    idsOf.set(name, repeat === 1 ? [name] : Array.from({ length: repeat }, (_, copy) => `${name}-${copy + 1}`));
  });
  let next = 0;
  return rawJobs.flatMap((raw) => {
    const copies = jobs.slice(next, (next += raw.repeat ?? 1));
    const inputsFrom = (raw.inputs_from ?? []).flatMap((name) => {
      const ids = idsOf.get(name) ?? [];
      return ids.map((id) => ({ job: id, dir: ids.length === 1 ? '' : id }));
    });
    const after = [...new Set([...(raw.after ?? []), ...(raw.inputs_from ?? [])].flatMap((name) => idsOf.get(name) ?? []))];
    if (after.length === 0) return copies;
    return copies.map((job) => ({ ...job, after, inputsFrom }));
  });
}

/** YAML reads `N: 4` as a number and `DEBUG: true` as a boolean: the container gets them as written. */
function envStrings(env: RawConfig['env']): Record<string, string> {
  return Object.fromEntries(Object.entries(env ?? {}).map(([key, value]) => [key, String(value)]));
}

function durationSeconds(value: string | number): number {
  const parsed = parseDuration(value);
  if (!parsed.ok) throw new Error(`normalizeConfig: ${parsed.problem}; the rules should have refused it`);
  return parsed.seconds;
}

function memoryBytes(value: string | number | null | undefined): number | null {
  if (value === null || value === undefined) return null;
  const parsed = parseMemory(value);
  if (!parsed.ok) throw new Error(`normalizeConfig: ${parsed.problem}; the rules should have refused it`);
  return parsed.bytes;
}

function toList(value: string | string[] | null | undefined): string[] {
  if (value === null || value === undefined) return [];
  return typeof value === 'string' ? [value] : [...value];
}
