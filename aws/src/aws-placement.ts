import { type ErrorCode, ExitCode, KatapultError, type AgentCredentialIssuer, type AwsProviderFactory } from '@katapult/core';
import { AwsProvider, type AwsClients } from './aws-provider.js';
import { awsClients } from './clients.js';
import { awsPriceLookup } from './prices.js';

export interface AwsPlacementSettings {
  cluster: string;
  /** NATS as the coordinator reaches it: its port is the one instances dial unless `maestro_address` names another. */
  natsUrl: string;
  /** The stack's CA (PEM). Required: agents on EC2 send their NATS password across the internet. */
  natsCa?: string | undefined;
  /** The name on NATS's certificate when instances dial another (the maestro's certificate names KATAPULT_TLS_NAME). */
  natsTlsName?: string | undefined;
  credentials?: AgentCredentialIssuer | undefined;
  stackLabel: string;
  heartbeatMs: number;
  log: (line: string) => void;
  /** How old an instance of no stored run's pool must be to be terminated as an orphan (AwsProviderOptions). */
  orphanGraceMs?: number;
  /** For tests: clients with mocked transports. */
  clients?: (region: string | null, profile: string | null) => AwsClients;
}

/** NATS as an EC2 instance dials it: `maestro_address` (its port, or the stack's), over TLS. */
export function instanceNatsUrl(coordinatorNatsUrl: string, maestroAddress: string): string {
  const port = /:(\d+)$/.exec(maestroAddress)?.[1] ?? new URL(coordinatorNatsUrl).port;
  const host = maestroAddress.replace(/:\d+$/, '');
  return `tls://${host}:${port || '4222'}`;
}

/**
 * Makes the AWS provider of a run's placement. Refuses what would leave instances unable to reach back, or
 * sending credentials in clear: no `maestro_address`, no agent image in a registry they can pull from, no TLS.
 */
export function awsProviderFactory(settings: AwsPlacementSettings): AwsProviderFactory {
  return (placement, region, fallbackRegions) => {
    const refuse = (code: ErrorCode, message: string, hint: string) =>
      new KatapultError(code, message, { hint, exitCode: ExitCode.badInput });
    if (!placement.maestroAddress)
      throw refuse(
        'KP_AWS_NO_MAESTRO_ADDRESS',
        'the run has no maestro_address, so EC2 instances cannot reach this machine',
        'set maestro_address in the config',
      );
    if (!placement.agentImage)
      throw refuse(
        'KP_AWS_NO_AGENT_IMAGE',
        'the run names no agent image that EC2 instances can pull',
        'launch it with the katapult CLI, which pushes the agent image to the registry',
      );
    if (!settings.natsCa) {
      throw refuse(
        'KP_AWS_NEEDS_TLS',
        "the stack's NATS does not speak TLS, and agents on EC2 would send their credentials in clear",
        'katapult down, then launch again with KATAPULT_TLS=1',
      );
    }
    const clientsOf = settings.clients ?? ((r, profile) => awsClients({ region: r, profile }));
    const clients =
      fallbackRegions.length > 0 ? (r: string | null) => clientsOf(r, placement.profile) : clientsOf(region, placement.profile);
    return new AwsProvider(clients, {
      cluster: settings.cluster,
      region,
      fallbackRegions,
      prices: (r) => awsPriceLookup({ region: r, profile: placement.profile }),
      ...(settings.orphanGraceMs === undefined ? {} : { orphanGraceMs: settings.orphanGraceMs }),
      agent: {
        image: placement.agentImage,
        natsUrl: instanceNatsUrl(settings.natsUrl, placement.maestroAddress),
        natsCa: settings.natsCa,
        natsTlsName: settings.natsTlsName,
        stackLabel: settings.stackLabel,
        heartbeatMs: settings.heartbeatMs,
      },
      ...(settings.credentials ? { credentials: settings.credentials } : {}),
      log: settings.log,
    });
  };
}
