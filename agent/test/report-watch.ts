import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { jobReportCodec, type ClusterNames, type JobReport } from '@katapult/core';

export interface ReportWatch {
  /** Every report agents published since the watch began, in the order heard. */
  reports: JobReport[];
  seen(jobId: string, attempt: number, type: string): JobReport | undefined;
  sub: Subscription;
}

/** Hears every report any agent of the cluster publishes, as the coordinator would. */
export function watchReports(nc: NatsConnection, names: ClusterNames): ReportWatch {
  const reports: JobReport[] = [];
  const sub = nc.subscribe(names.eventWildcard);
  void (async () => {
    for await (const message of sub) {
      const decoded = jobReportCodec.decode(message.data);
      if (decoded.ok) reports.push(decoded.value);
    }
  })();
  return {
    reports,
    seen: (jobId, attempt, type) => reports.find((r) => r.jobId === jobId && r.attempt === attempt && r.type === type),
    sub,
  };
}
