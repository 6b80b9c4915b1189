import type { StackStep } from '../stack/stack-steps.js';

/** A stack step as the line the CLI prints for it (and @katapult/client hands to onProgress). */
export function stackStepLine(step: StackStep): string {
  switch (step.step) {
    case 'nats-server':
      return step.tls ? `starting nats-server (JetStream, TLS) on ${step.host}` : 'starting nats-server (JetStream)';
    case 'registry':
      return 'starting the local registry';
    case 'coordinator':
      return 'starting the coordinator';
    case 'maestro-starting':
      // The config rules require maestro_cidr with maestro: remote, so a null one never reaches this line.
      return `starting the maestro (${step.instanceType} in ${step.region}), reachable from ${step.cidr}`;
    case 'maestro-booting':
      return `maestro ${step.instanceId} at ${step.publicIp}: waiting for it to boot (Docker, the maestro image, NATS, the coordinator)`;
    case 'maestro-still-booting':
      return `maestro still booting (${step.seconds}s)`;
  }
}
