import { processLogger } from '@katapult/logging';
import { runMaestro } from './maestro/run-maestro.js';

const { log, logger } = processLogger('maestro');

await runMaestro(process.env, log, logger);
