/**
 * Every NATS subject, stream and bucket name, derived from the cluster name so that several clusters can
 * share one NATS server. Nothing else in Katapult spells a subject.
 */
const CLUSTER_PATTERN = /^[a-z0-9][a-z0-9_-]{0,30}$/;

export interface ClusterNames {
  cluster: string;
  streams: { assignments: string; events: string; logs: string };
  buckets: { runs: string; jobs: string; agents: string };
  /** Object store of the project files jobs read (named by content) and of their collected outputs. */
  fileStore: string;
  outputObject(runId: string, jobId: string, attempt: number): string;
  /** Where the coordinator sends an agent its jobs. */
  assignmentSubject(agentId: string): string;
  assignmentWildcard: string;
  /** Where the coordinator asks an agent to stop an attempt (core NATS: the request is repeated until it holds). */
  stopSubject(agentId: string): string;
  /** Where an agent reports on a job: the sender's id is in the subject, and NATS lets each agent publish only under its own. */
  eventSubject(agentId: string, runId: string, jobId: string): string;
  /** Every report one agent may publish (its NATS permission). */
  agentEventWildcard(agentId: string): string;
  eventWildcard: string;
  /** The agent a report's subject names as its sender; undefined for a subject of another shape. */
  eventSender(subject: string): string | undefined;
  /**
   * Where the admin (the CLI) asks an agent to run a command in one of its jobs' containers (`katapult exec`):
   * no agent may publish there, and each agent hears only its own.
   */
  execStartSubject(agentId: string): string;
  /** The session's stdin, window sizes and keep-alives, from the CLI to the agent. */
  execInputSubject(agentId: string, session: string): string;
  /** Every exec subject an agent may subscribe to: its own requests and its own sessions' input. */
  agentExecWildcard(agentId: string): string;
  /** The session's stdout, stderr and exit code, from the agent to the CLI: only the admin may subscribe there. */
  execOutputSubject(agentId: string, session: string): string;
  /** Every exec output one agent may publish (its NATS permission). */
  agentExecOutputWildcard(agentId: string): string;
  logSubject(runId: string, jobId: string): string;
  runLogWildcard(runId: string): string;
  logWildcard: string;
  /** The durable consumer an agent reads its assignments with. */
  agentConsumer(agentId: string): string;
  eventsConsumer: string;
}

export function clusterNames(cluster: string): ClusterNames {
  if (!CLUSTER_PATTERN.test(cluster)) {
    throw new Error(`cluster name "${cluster}" must be lowercase letters, digits, "-" or "_" (at most 31)`);
  }
  const upper = cluster.toUpperCase().replace(/-/g, '_');
  const base = `kp.${cluster}`;
  return {
    cluster,
    streams: { assignments: `KP_${upper}_ASSIGN`, events: `KP_${upper}_EVENTS`, logs: `KP_${upper}_LOGS` },
    buckets: { runs: `kp_${cluster}_runs`, jobs: `kp_${cluster}_jobs`, agents: `kp_${cluster}_agents` },
    fileStore: `kp_${cluster}_files`,
    outputObject: (runId, jobId, attempt) => `outputs/${runId}/${jobId}/${attempt}`,
    assignmentSubject: (agentId) => `${base}.assign.${agentId}`,
    assignmentWildcard: `${base}.assign.*`,
    stopSubject: (agentId) => `${base}.stop.${agentId}`,
    eventSubject: (agentId, runId, jobId) => `${base}.events.${agentId}.${runId}.${jobId}`,
    agentEventWildcard: (agentId) => `${base}.events.${agentId}.>`,
    eventWildcard: `${base}.events.>`,
    eventSender: (subject) => {
      const tokens = subject.split('.');
      return tokens.length === 6 && `${tokens[0]}.${tokens[1]}` === base && tokens[2] === 'events' ? tokens[3] : undefined;
    },
    execStartSubject: (agentId) => `${base}.exec.${agentId}.start`,
    execInputSubject: (agentId, session) => `${base}.exec.${agentId}.in.${session}`,
    agentExecWildcard: (agentId) => `${base}.exec.${agentId}.>`,
    execOutputSubject: (agentId, session) => `${base}.execout.${agentId}.${session}`,
    agentExecOutputWildcard: (agentId) => `${base}.execout.${agentId}.>`,
    logSubject: (runId, jobId) => `${base}.logs.${runId}.${jobId}`,
    runLogWildcard: (runId) => `${base}.logs.${runId}.*`,
    logWildcard: `${base}.logs.>`,
    agentConsumer: (agentId) => `agent-${agentId}`,
    eventsConsumer: 'coordinator-events',
  };
}

/** Job records are keyed `<runId>.<jobId>` so one run's jobs can be listed with a `<runId>.*` filter. */
export function jobKey(runId: string, jobId: string): string {
  return `${runId}.${jobId}`;
}
