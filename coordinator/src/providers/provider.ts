import type { InstanceSpec } from '@katapult/core';

/** Where agents come from. The coordinator asks for instances; the provider makes sure they exist. */
export interface Provider {
  readonly name: string;
  /** Starts whatever instances are missing for these specs; leaves running ones alone. Returns agent ids. */
  ensure(instances: readonly InstanceSpec[]): Promise<string[]>;
  /** Stops and removes every instance this provider started. */
  terminateAll(): Promise<string[]>;
}
