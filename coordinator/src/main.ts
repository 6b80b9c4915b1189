import { KatapultError } from '@katapult/core';
import { processLogger } from '@katapult/logging';
import { readCoordinatorConfig, startCoordinator } from './start.js';

const { log, logger } = processLogger('coordinator');

try {
  const running = await startCoordinator(readCoordinatorConfig(process.env), log, { logger });
  log(`listening on ${running.url}`);
  const shutdown = () => void running.stop().finally(() => process.exit(0));
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
} catch (error) {
  log(error instanceof KatapultError ? error.toLine() : String(error), { level: 'error' });
  process.exit(error instanceof KatapultError ? error.exitCode : 3);
}
