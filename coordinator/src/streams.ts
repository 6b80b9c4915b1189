import type { NatsConnection } from '@nats-io/transport-node';
import {
  DiscardPolicy,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
  type JetStreamManager,
  type StreamConfig,
} from '@nats-io/jetstream';
import { Objm } from '@nats-io/obj';
import { bucketStream } from '@katapult/object-files';
import { JETSTREAM_API_TIMEOUT_MS, STREAM_MAX_MSG_BYTES, STREAM_MIN_MAX_BYTES, streamMaxBytes, type ClusterNames } from '@katapult/core';

export interface StreamLimits {
  /**
   * The bytes the cluster's streams and file store may hold together (KATAPULT_STREAM_MAX_BYTES, shared by
   * STREAM_BUDGET_SHARES); none: no stream has a max_bytes. Given again, it changes the limits of existing streams.
   */
  budgetBytes?: number;
  log?: (line: string) => void;
}

type Wanted = Partial<StreamConfig> & { name: string; max_bytes: number };

const NO_LIMITS = { files: -1, outputs: -1, logs: -1, events: -1, assignments: -1 };

/** Creates the cluster's streams and file store when missing, with their limits; safe to call on every start. */
export async function ensureStreams(nc: NatsConnection, names: ClusterNames, limits: StreamLimits = {}): Promise<void> {
  const jsm = await jetstreamManager(nc, { timeout: JETSTREAM_API_TIMEOUT_MS });
  // -1: no limit. nats-server 2.9 reserves a stream's max_bytes out of its store's capacity, which it sets at each
  // start to 75 % of the disk free then: on a fuller disk it does not load a stream whose reservation no longer
  // fits (tested), so limits are only set when the operator gives a budget (and knows the disk).
  const bytes = limits.budgetBytes === undefined ? NO_LIMITS : streamMaxBytes(limits.budgetBytes);
  const log = limits.log ?? (() => undefined);
  const wanted: Wanted[] = [
    // Assignments are work: each is removed once its agent acks it (the job's outcome is reported).
    {
      name: names.streams.assignments,
      subjects: [names.assignmentWildcard],
      retention: RetentionPolicy.Workqueue,
      max_msg_size: STREAM_MAX_MSG_BYTES.assignments,
      max_bytes: bytes.assignments,
      discard: DiscardPolicy.New,
    },
    // Reports are read by the coordinator as they come: when full, the oldest (long applied) make room.
    {
      name: names.streams.events,
      subjects: [names.eventWildcard],
      retention: RetentionPolicy.Limits,
      max_msg_size: STREAM_MAX_MSG_BYTES.events,
      max_bytes: bytes.events,
      discard: DiscardPolicy.Old,
    },
    // Logs are kept so `katapult logs` can replay a finished job from its first line.
    {
      name: names.streams.logs,
      subjects: [names.logWildcard],
      retention: RetentionPolicy.Limits,
      max_msg_size: STREAM_MAX_MSG_BYTES.logs,
      max_bytes: bytes.logs,
      discard: DiscardPolicy.New,
    },
    // Output archives, each under the subject of the agent that wrote it (see ClusterNames.outputSubject).
    {
      name: names.streams.outputs,
      subjects: [names.outputWildcard],
      retention: RetentionPolicy.Limits,
      max_msg_size: STREAM_MAX_MSG_BYTES.outputs,
      max_bytes: bytes.outputs,
      discard: DiscardPolicy.New,
    },
  ];
  const files = bucketStream(names.fileStore);
  const fileStore: Wanted = { name: files, max_bytes: bytes.files, discard: DiscardPolicy.New };
  const missing = new Set<string>();
  for (const config of [...wanted, fileStore]) if (!(await streamConfig(jsm, config.name))) missing.add(config.name);
  // nats-server reserves each stream's max_bytes out of its store: on a small disk the new streams share what is left.
  const asked = [...wanted, fileStore].filter((config) => missing.has(config.name)).reduce((sum, config) => sum + config.max_bytes, 0);
  const scale = missing.size === 0 || asked < 0 ? 1 : Math.min(1, (await reservable(jsm, names, asked)) / asked);
  if (scale < 1)
    log(`JetStream's store has room for ${Math.round(scale * 100)} % of the stream budget: the new streams get that share of their limits`);
  const scaled = (config: Wanted): Wanted =>
    missing.has(config.name) && config.max_bytes > 0
      ? { ...config, max_bytes: Math.max(STREAM_MIN_MAX_BYTES, Math.floor(config.max_bytes * scale)) }
      : config;
  for (const config of wanted) await ensureStream(jsm, scaled(config), log);
  // Files outlive the processes that wrote them: a run's inputs are read by its jobs whenever they start.
  if (missing.has(files)) {
    // An object store refuses what does not fit (discard new) already.
    await new Objm(jetstream(nc, { timeout: JETSTREAM_API_TIMEOUT_MS })).create(names.fileStore, {
      storage: StorageType.File,
      max_bytes: scaled(fileStore).max_bytes,
    });
  } else {
    await ensureStream(jsm, fileStore, log);
  }
}

/** The most bytes nats-server can still reserve, up to `wanted`: found by reserving them in a stream made and removed at once. */
async function reservable(jsm: JetStreamManager, names: ClusterNames, wanted: number): Promise<number> {
  const probe = `${names.streams.events}_PROBE`;
  // One left by a coordinator that died between making and removing it.
  await jsm.streams.delete(probe).catch(() => undefined);
  for (let bytes = wanted; bytes >= STREAM_MIN_MAX_BYTES; bytes = Math.floor(bytes * 0.8)) {
    try {
      await jsm.streams.add({ name: probe, subjects: [`kp.${names.cluster}.probe`], max_bytes: bytes, storage: StorageType.File });
    } catch (error) {
      if (/insufficient storage resources/i.test(String(error))) continue;
      throw error;
    }
    await jsm.streams.delete(probe);
    return bytes;
  }
  return STREAM_MIN_MAX_BYTES;
}

async function streamConfig(jsm: JetStreamManager, name: string): Promise<StreamConfig | undefined> {
  try {
    return (await jsm.streams.info(name)).config;
  } catch {
    return undefined;
  }
}

async function ensureStream(jsm: JetStreamManager, config: Wanted, log: (line: string) => void): Promise<void> {
  const existing = await streamConfig(jsm, config.name);
  if (!existing) {
    await jsm.streams.add({ ...config, storage: StorageType.File });
    return;
  }
  // A budget given changes the limits (none given leaves them). Never below what a stream holds: nats-server
  // would delete its oldest messages to get under a lower limit.
  const stored = (await jsm.streams.info(config.name)).state.bytes;
  const maxBytes =
    config.max_bytes > 0 && existing.max_bytes !== config.max_bytes ? Math.max(config.max_bytes, stored) : existing.max_bytes;
  const update: Partial<StreamConfig> = {
    ...(config.max_msg_size !== undefined && existing.max_msg_size !== config.max_msg_size ? { max_msg_size: config.max_msg_size } : {}),
    ...(maxBytes !== existing.max_bytes ? { max_bytes: maxBytes } : {}),
    ...(config.discard !== undefined && existing.discard !== config.discard ? { discard: config.discard } : {}),
  };
  if (Object.keys(update).length === 0) return;
  try {
    await jsm.streams.update(config.name, { ...existing, ...update });
  } catch (error) {
    // nats-server reserves max_bytes out of its store: the stream keeps the limits it had, and says so.
    log(`the JetStream stream ${config.name} keeps its limits (${existing.max_bytes} bytes): ${String(error)}`);
  }
}
