import {
  foreignOutputs,
  jobKey,
  jobReportCodec,
  plural,
  type ClusterNames,
  type JobEvent,
  type JobReport,
  type Log,
  type LogFields,
} from '@katapult/core';
import { KeyedBatcher } from '../pipeline.js';
import type { Dispatch, ReportDelivery } from '../ports/dispatch.js';
import type { AgentRoster } from './agent-roster.js';
import type { JobEvents } from './job-events.js';

/** Reports being applied at once (each one a compare-and-set). */
const REPORTS_IN_FLIGHT = 256;

/** What hears of an attempt's end as soon as its report is checked, before it is stored (Scheduling). */
export interface EndedAttempts {
  endReported(runId: string, jobId: string, attempt: number, agentId: string): void;
  endStored(runId: string, jobId: string): void;
}

/** Reports saying the attempt's container is gone, its cpus free on the agent. */
const ENDING_REPORTS: ReadonlySet<JobReport['type']> = new Set(['exited', 'start_failed', 'lost']);

/**
 * The agents' reports move jobs through their lifecycle. A report is checked (well formed, sent by the agent it
 * names, naming only that agent's outputs), then applied; it is acknowledged once stored, or handed back to be
 * delivered again later.
 */
export class ReportLoop {
  constructor(
    private readonly names: ClusterNames,
    private readonly dispatch: Dispatch,
    private readonly roster: AgentRoster,
    private readonly events: JobEvents,
    private readonly log: Log,
    private readonly ended?: EndedAttempts,
  ) {}

  /** Resolves once reports are being read; they are then applied until the source ends. */
  async start(): Promise<void> {
    const deliveries = await this.dispatch.reports(REPORTS_IN_FLIGHT * 2);
    // Reports about one job are applied in order, those that came together in one write; reports about different
    // jobs side by side.
    const queue = new KeyedBatcher<{ delivery: ReportDelivery; event: JobEvent; report: JobReport }>(
      REPORTS_IN_FLIGHT,
      async (_key, reports) => {
        const { runId, jobId } = reports[0]!.report;
        const ending = reports.some((entry) => ENDING_REPORTS.has(entry.report.type));
        try {
          await this.events.applyAll(
            runId,
            jobId,
            reports.map((entry) => entry.event),
          );
          for (const { delivery } of reports) delivery.ack();
        } catch (error) {
          this.log(`${plural(reports.length, 'report')} not applied yet (${String(error)}); redelivered later`, {
            runId,
            jobId,
            level: 'warn',
          });
          for (const { delivery } of reports) delivery.nak(1000);
        } finally {
          if (ending) this.ended?.endStored(runId, jobId);
        }
      },
    );
    void (async () => {
      for await (const delivery of deliveries) {
        const checked = this.check(delivery);
        if (!checked) {
          delivery.term();
          continue;
        }
        const { report, sender } = checked;
        if (report.type === 'lost') this.roster.gaveUp(report.agentId, report.at);
        if (ENDING_REPORTS.has(report.type)) this.ended?.endReported(report.runId, report.jobId, report.attempt, sender);
        await queue.push(jobKey(report.runId, report.jobId), { delivery, event: toJobEvent(report, sender), report });
      }
    })();
  }

  /** The report and the agent that sent it; undefined (logged) for one to drop. */
  private check(delivery: ReportDelivery): { report: JobReport; sender: string } | undefined {
    const decoded = jobReportCodec.decode(delivery.data);
    if (!decoded.ok) {
      this.log(`dropping a malformed report on ${delivery.subject}: ${decoded.error}`, { level: 'warn' });
      return undefined;
    }
    const report = decoded.value;
    // The sender is the agent the subject names (NATS permissions bind it to its user); reports stored under the
    // old subjects, without one, are taken at their word, as they were.
    const sender = this.names.eventSender(delivery.subject) ?? report.agentId;
    if (sender !== report.agentId) {
      this.log(`dropping a report on ${delivery.subject}: it names agent ${report.agentId} but agent ${sender} sent it`, {
        ...reportFields(report),
        agentId: sender,
        level: 'warn',
      });
      return undefined;
    }
    const foreign = foreignOutputs(this.names, report, sender);
    if (foreign) {
      this.log(`dropping a report on ${delivery.subject}: ${foreign}`, { ...reportFields(report), level: 'warn' });
      return undefined;
    }
    return { report, sender };
  }
}

/** A report as the event it is, from the agent `by` that sent it. */
function toJobEvent(report: JobReport, by: string): JobEvent {
  switch (report.type) {
    case 'pulling':
    case 'running':
      return { type: report.type, attempt: report.attempt, by };
    case 'exited':
      return {
        type: 'exited',
        attempt: report.attempt,
        exitCode: report.exitCode ?? -1,
        ...(report.outputs ? { outputs: report.outputs } : {}),
        ...(report.ranMs === undefined ? {} : { ranMs: report.ranMs }),
        ...(report.timedOut ? { timedOut: true } : {}),
        by,
      };
    case 'start_failed':
      return { type: 'start_failed', attempt: report.attempt, message: report.message ?? 'the job could not start', by };
    case 'lost':
      return { type: 'agent_lost', attempt: report.attempt, by };
  }
}

/** The ids a report is about, as log fields. */
function reportFields(report: JobReport): LogFields {
  return { runId: report.runId, jobId: report.jobId, attempt: report.attempt, agentId: report.agentId };
}
