import type { InstanceSpec } from '@katapult/core';

/** What `ensure` is asking for: the run whose instances these are (the AWS provider tags what it creates with them). */
export interface EnsureContext {
  project: string;
  runId: string;
}

/** Where agents come from. The coordinator asks for instances; the provider makes sure they exist. */
export interface Provider {
  readonly name: string;
  /** Starts whatever instances are missing for these specs; leaves running ones alone. Returns agent ids. */
  ensure(instances: readonly InstanceSpec[], context?: EnsureContext): Promise<string[]>;
  /** Stops and removes every instance this provider started. */
  terminateAll(): Promise<string[]>;
}
