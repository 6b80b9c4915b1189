import { decodeAgentEnv, type AgentBootConfig } from '@katapult/core';

/** What an agent is told at boot, through its environment (set by the provider or the EC2 user-data). */
export type AgentConfig = AgentBootConfig;

export function readAgentConfig(env: NodeJS.ProcessEnv): AgentConfig {
  return decodeAgentEnv(env);
}
