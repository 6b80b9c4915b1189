import { connect } from '@nats-io/transport-node';
import { DeliverPolicy, jetstream } from '@nats-io/jetstream';
import { clusterNames, logRecordCodec, type LogRecord } from '@katapult/core';

export interface LogReadOptions {
  natsUrl: string;
  cluster: string;
  runId: string;
  jobId: string;
  /** Keep reading after the stored lines until the job's log ends. */
  follow: boolean;
  onRecord: (record: LogRecord) => void;
}

/**
 * Replays a job's log from its first line (JetStream keeps every line), then, with `follow`, waits for new
 * lines until the end-of-log record of the job's attempt arrives. Without `follow`, stops once caught up.
 */
export async function readJobLog(options: LogReadOptions): Promise<{ exitCode: number | null | undefined }> {
  const names = clusterNames(options.cluster);
  const nc = await connect({ servers: options.natsUrl, name: 'katapult-cli-logs' });
  try {
    const consumer = await jetstream(nc).consumers.get(names.streams.logs, {
      // A single string (not a list) so nats-server 2.9, which knows only filter_subject, accepts it.
      filter_subjects: names.logSubject(options.runId, options.jobId),
      deliver_policy: DeliverPolicy.All,
    });
    let exitCode: number | null | undefined;
    const info = await consumer.info(true);
    if (!options.follow && info.num_pending === 0) return { exitCode };
    const messages = await consumer.consume();
    for await (const message of messages) {
      const decoded = logRecordCodec.decode(message.data);
      if (decoded.ok) {
        options.onRecord(decoded.value);
        if ('eof' in decoded.value) exitCode = decoded.value.exitCode;
      }
      // Caught up with what is stored; when following, also wait for the attempt's end-of-log record.
      if (message.info.pending === 0 && (!options.follow || exitCode !== undefined)) break;
    }
    return { exitCode };
  } finally {
    await nc.close();
  }
}
