import { ExitCode, KatapultError, type Provider } from '@katapult/core';

export function noLocalError(): KatapultError {
  return new KatapultError(
    'KP_MAESTRO_NO_LOCAL',
    'this coordinator runs on the maestro instance, which has no Docker to start local agents',
    {
      hint: 'set provider: aws in the config, or launch it without maestro: remote',
      exitCode: ExitCode.badInput,
    },
  );
}

/** The local provider of a coordinator with no Docker (the maestro): a run placed locally is refused before it is stored. */
export class NoLocalProvider implements Provider {
  readonly name = 'local';

  check(): void {
    throw noLocalError();
  }

  async ensure(): Promise<string[]> {
    throw noLocalError();
  }

  async stopPool(): Promise<string[]> {
    return [];
  }

  async terminateAll(): Promise<string[]> {
    return [];
  }
}
