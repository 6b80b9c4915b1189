/**
 * A server of the stack starting, or the remote maestro launching and booting: what `launch`, `build` and
 * `images ls|prune` report before their own work; its line is stackStepLine (lines/stack-lines.ts).
 */
export type StackStep =
  | { step: 'nats-server'; tls: false }
  /** NATS on a network address (instances outside this machine reach it): always with TLS. */
  | { step: 'nats-server'; tls: true; host: string }
  | { step: 'registry' }
  | { step: 'coordinator' }
  | { step: 'maestro-starting'; instanceType: string; region: string; cidr: string | null }
  | { step: 'maestro-booting'; instanceId: string; publicIp: string }
  | { step: 'maestro-still-booting'; seconds: number };

export type OnStackStep = (step: StackStep) => void;
