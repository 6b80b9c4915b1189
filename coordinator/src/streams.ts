import type { NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager, RetentionPolicy, StorageType, type StreamConfig } from '@nats-io/jetstream';
import { Objm } from '@nats-io/obj';
import { STREAM_MAX_MSG_BYTES, type ClusterNames } from '@katapult/core';

/** Creates the cluster's streams and file store when missing; safe to call on every start. */
export async function ensureStreams(nc: NatsConnection, names: ClusterNames): Promise<void> {
  const jsm = await jetstreamManager(nc);
  const wanted: (Partial<StreamConfig> & { name: string })[] = [
    // Assignments are work: each is removed once its agent acks it (the job's outcome is reported).
    {
      name: names.streams.assignments,
      subjects: [names.assignmentWildcard],
      retention: RetentionPolicy.Workqueue,
      max_msg_size: STREAM_MAX_MSG_BYTES.assignments,
    },
    { name: names.streams.events, subjects: [names.eventWildcard], retention: RetentionPolicy.Limits, max_msg_size: STREAM_MAX_MSG_BYTES.events },
    // Logs are kept so `katapult logs` can replay a finished job from its first line.
    { name: names.streams.logs, subjects: [names.logWildcard], retention: RetentionPolicy.Limits, max_msg_size: STREAM_MAX_MSG_BYTES.logs },
    // Output archives, each under the subject of the agent that wrote it (see ClusterNames.outputSubject).
    { name: names.streams.outputs, subjects: [names.outputWildcard], retention: RetentionPolicy.Limits, max_msg_size: STREAM_MAX_MSG_BYTES.outputs },
  ];
  for (const config of wanted) {
    let existing: StreamConfig | undefined;
    try {
      existing = (await jsm.streams.info(config.name)).config;
    } catch {
      await jsm.streams.add({ ...config, storage: StorageType.File });
      continue;
    }
    // Streams made before the limits get them.
    if (existing.max_msg_size !== config.max_msg_size) await jsm.streams.update(config.name, { ...existing, max_msg_size: config.max_msg_size });
  }
  // Files outlive the processes that wrote them: a run's inputs are read by its jobs whenever they start.
  await new Objm(nc).create(names.fileStore, { storage: StorageType.File });
}
