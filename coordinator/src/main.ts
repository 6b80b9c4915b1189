import { KatapultError } from '@katapult/core';
import { readCoordinatorConfig, startCoordinator } from './start.js';

const log = (line: string) => process.stderr.write(`${new Date().toISOString()} coordinator ${line}\n`);

try {
  const running = await startCoordinator(readCoordinatorConfig(process.env), log);
  log(`listening on ${running.url}`);
  const shutdown = () => void running.stop().finally(() => process.exit(0));
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
} catch (error) {
  log(error instanceof KatapultError ? error.toLine() : String(error));
  process.exit(error instanceof KatapultError ? error.exitCode : 3);
}
