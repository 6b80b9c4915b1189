// The coordinator as the local stack runs it, in a process of its own so its CPU can be read from /proc, with a
// provider that starts nothing: control-plane.mjs's simulated agents register themselves.
import { createWriteStream } from 'node:fs';
import { readCoordinatorConfig, startCoordinator } from '@katapult/coordinator';

const provider = { name: 'simulated', ensure: async () => [], stopPool: async () => [], terminateAll: async () => [] };
const logFile = createWriteStream(process.env.BENCH_COORDINATOR_LOG ?? '/dev/null', { flags: 'a' });
const log = (line) => logFile.write(`${new Date().toISOString()} coordinator ${line}\n`);
const running = await startCoordinator(readCoordinatorConfig(process.env), log, { provider });
process.stdout.write(`${JSON.stringify({ url: running.url })}\n`);
process.once('SIGTERM', () => void running.stop().finally(() => process.exit(0)));
