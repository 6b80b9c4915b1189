// Katapult from a script: run a config's jobs, wait for them, print their states and fetch their output files.
//   node examples/client/run.mjs [CONFIG] [OUT]    (default: examples/hello/katapult.yaml, results)
// Needs the workspace built (pnpm build). The stack is $KATAPULT_HOME's, as for the CLI; `katapult down` stops it.
import { fileURLToPath } from 'node:url';
import { Katapult, KatapultError } from '@katapult/client';

const config = process.argv[2] ?? fileURLToPath(new URL('../hello/katapult.yaml', import.meta.url));
const out = process.argv[3] ?? 'results';

try {
  const kp = await Katapult.open(config, { onProgress: (line) => console.error(line) });
  const images = await kp.build();
  for (const image of images) console.log(`image ${image.name}: ${image.ref} (${image.built ? 'built' : 'reused'})`);

  const run = await kp.run();
  console.log(`run ${run.id}`);
  const final = await run.wait({ until: 'over', timeoutMs: 10 * 60_000 });
  for (const [job, state] of Object.entries(await run.states())) console.log(`${job}: ${state}`);

  for (const { job, files, folder } of await run.fetch(out))
    console.log(`${job}: ${files.length} file${files.length === 1 ? '' : 's'} -> ${folder}`);
  const failed = final.jobs.filter((job) => job.state !== 'done');
  for (const job of failed) {
    const lines = await run.logs(job.id);
    console.log(`${job.id} ended ${job.state}; its last line: ${lines.at(-1)?.line ?? '(none)'}`);
  }
  process.exitCode = failed.length > 0 ? 1 : 0;
} catch (error) {
  if (!(error instanceof KatapultError)) throw error;
  console.error(error.toLine());
  process.exitCode = error.exitCode;
}
