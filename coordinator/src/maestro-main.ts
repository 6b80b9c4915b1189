import { processLogger } from './logger.js';
import { runMaestro } from './maestro/run-maestro.js';

const { log, logger } = processLogger('maestro');

await runMaestro(process.env, log, logger);
