/**
 * Every NATS subject, stream and bucket name, derived from the cluster name so that several clusters can
 * share one NATS server. Nothing else in Katapult spells a subject.
 */
const CLUSTER_PATTERN = /^[a-z0-9][a-z0-9_-]{0,30}$/;

export interface ClusterNames {
  cluster: string;
  streams: { assignments: string; events: string; logs: string; outputs: string };
  buckets: { runs: string; jobs: string; agents: string };
  /** Object store of the project files jobs read, named by content (and, before the outputs stream, of outputs). */
  fileStore: string;
  /**
   * Where an agent stores one attempt's output archive, in the outputs stream: under its own id, which NATS lets
   * only that agent publish to, so no other agent can write or replace it.
   */
  outputSubject(agentId: string, runId: string, jobId: string, attempt: number): string;
  /** Every output subject one agent may publish to (its NATS permission). */
  agentOutputWildcard(agentId: string): string;
  outputWildcard: string;
  /** True for an output named by outputSubject; false for an object of the file store (outputs stored before it). */
  isOutputSubject(name: string): boolean;
  /**
   * Where an agent asks the coordinator for a read of one input of an attempt assigned to it (a project file or
   * another job's output archive): under its own id, which tells the coordinator who asks.
   */
  readGrantSubject(agentId: string): string;
  readGrantWildcard: string;
  /** The agent a read request's subject names as its sender; undefined for a subject of another shape. */
  readGrantSender(subject: string): string | undefined;
  /** The prefix of an agent's reply subjects: it may subscribe to its own replies only, not to other clients'. */
  agentInboxPrefix(agentId: string): string;
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
  /** Where an agent writes a job's log: under its own id, which NATS lets only that agent publish to. */
  logSubject(runId: string, jobId: string, agentId: string): string;
  /** A job's log as agents wrote it before log subjects named them (read, never written). */
  legacyLogSubject(runId: string, jobId: string): string;
  /** One job's log, whoever wrote it. */
  jobLogWildcard(runId: string, jobId: string): string;
  /** Every job's log of a run, old subjects and new. */
  runLogWildcard(runId: string): string;
  /** Every log line one agent may publish (its NATS permission). */
  agentLogWildcard(agentId: string): string;
  logWildcard: string;
  /** The job and the writing agent a log subject names (no agent on the old subjects); undefined for another shape. */
  logSubjectParts(subject: string): { jobId: string; sender: string | undefined } | undefined;
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
    streams: { assignments: `KP_${upper}_ASSIGN`, events: `KP_${upper}_EVENTS`, logs: `KP_${upper}_LOGS`, outputs: `KP_${upper}_OUTPUTS` },
    buckets: { runs: `kp_${cluster}_runs`, jobs: `kp_${cluster}_jobs`, agents: `kp_${cluster}_agents` },
    fileStore: `kp_${cluster}_files`,
    outputSubject: (agentId, runId, jobId, attempt) => `${base}.outputs.${agentId}.${runId}.${jobId}.${attempt}`,
    agentOutputWildcard: (agentId) => `${base}.outputs.${agentId}.>`,
    outputWildcard: `${base}.outputs.>`,
    isOutputSubject: (name) => name.startsWith(`${base}.outputs.`),
    readGrantSubject: (agentId) => `${base}.reads.${agentId}`,
    readGrantWildcard: `${base}.reads.*`,
    readGrantSender: (subject) => {
      const tokens = subject.split('.');
      return tokens.length === 4 && `${tokens[0]}.${tokens[1]}` === base && tokens[2] === 'reads' ? tokens[3] : undefined;
    },
    agentInboxPrefix: (agentId) => `_INBOX_${agentId}`,
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
    logSubject: (runId, jobId, agentId) => `${base}.logs.${runId}.${jobId}.${agentId}`,
    legacyLogSubject: (runId, jobId) => `${base}.logs.${runId}.${jobId}`,
    jobLogWildcard: (runId, jobId) => `${base}.logs.${runId}.${jobId}.*`,
    runLogWildcard: (runId) => `${base}.logs.${runId}.>`,
    agentLogWildcard: (agentId) => `${base}.logs.*.*.${agentId}`,
    logWildcard: `${base}.logs.>`,
    logSubjectParts: (subject) => {
      const tokens = subject.split('.');
      if (`${tokens[0]}.${tokens[1]}` !== base || tokens[2] !== 'logs') return undefined;
      if (tokens.length === 5) return { jobId: tokens[4]!, sender: undefined };
      return tokens.length === 6 ? { jobId: tokens[4]!, sender: tokens[5]! } : undefined;
    },
    agentConsumer: (agentId) => `agent-${agentId}`,
    eventsConsumer: 'coordinator-events',
  };
}

/** Job records are keyed `<runId>.<jobId>` so one run's jobs can be listed with a `<runId>.*` filter. */
export function jobKey(runId: string, jobId: string): string {
  return `${runId}.${jobId}`;
}
