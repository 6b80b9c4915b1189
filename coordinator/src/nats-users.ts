import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import {
  IssuedAgentsSchema,
  natsUsersConfig,
  parseJsonText,
  readBack,
  type AgentCredentialIssuer,
  type ClusterNames,
  type NatsUser,
} from '@katapult/core';

const issuedAgents = readBack(IssuedAgentsSchema, 'KP_STATE_FILE', {
  hint: "the coordinator writes it as it issues agents' NATS users: restore it, or restart the stack",
});

export interface NatsUsersFiles {
  /** nats-server's users block, included by its configuration. */
  users: string;
  /** The agents' credentials, kept so a restarted coordinator keeps the users of agents still running. */
  agents: string;
  /** nats-server's pid file: a SIGHUP makes it reload its configuration. */
  pid: string;
}

/**
 * Writes the users file and asks nats-server to reload it. The local stack's NATS runs on this machine, so a
 * signal is enough; a reload keeps every connection and JetStream state.
 */
export class NatsUsersFile implements AgentCredentialIssuer {
  constructor(
    private readonly names: ClusterNames,
    private readonly admin: NatsUser,
    private readonly files: NatsUsersFiles,
  ) {}

  issue(agentId: string): NatsUser {
    const agents = this.read();
    const credentials = { user: `agent-${agentId}`, pass: randomBytes(24).toString('hex') };
    this.write({ ...agents, [agentId]: credentials });
    return credentials;
  }

  /** The agent's NATS password, which only it and this coordinator know: its attempts' secrets are sealed under it. */
  secretOf(agentId: string): string | undefined {
    return this.read()[agentId]?.pass;
  }

  revoke(agentId: string): void {
    const { [agentId]: _gone, ...rest } = this.read();
    this.write(rest);
  }

  private read(): Record<string, NatsUser> {
    // Missing: no agent issued yet. Malformed: not rewritten from nothing, which would drop the users of running agents.
    if (!existsSync(this.files.agents)) return {};
    const file = this.files.agents;
    return issuedAgents(parseJsonText(readFileSync(file, 'utf8'), file, 'KP_STATE_FILE'), file);
  }

  private write(agents: Record<string, NatsUser>): void {
    // Whole or not at all (written beside, then renamed): nats-server and the CLI read these while they change.
    for (const [file, content] of [
      [this.files.agents, `${JSON.stringify(agents, null, 2)}\n`],
      [this.files.users, natsUsersConfig(this.names, this.admin, agents)],
    ] as const) {
      writeFileSync(`${file}.tmp`, content, { mode: 0o600 });
      renameSync(`${file}.tmp`, file);
    }
    const pid = Number(readFileSync(this.files.pid, 'utf8').trim());
    process.kill(pid, 'SIGHUP');
  }
}
