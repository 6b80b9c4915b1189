// The process log of the coordinator and the agent (pino), in one place: core may not name pino, and the two
// processes may not import each other.
export { processLogger, type LogStream, type ProcessLogger } from './process-logger.js';
