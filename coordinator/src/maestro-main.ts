import { runMaestro } from './maestro/run-maestro.js';

const log = (line: string) => process.stderr.write(`${new Date().toISOString()} maestro ${line}\n`);

await runMaestro(process.env, log);
