// Bundles the maestro (nats-server beside an in-process coordinator) into one file for Dockerfile.maestro, so the
// image needs Node and nothing else; and the local stack's coordinator (main.js) into another, because loading
// the unbundled modules takes twice as long (measured: 2.4-2.7 s of CPU against 1.0-1.2 s, most of it the AWS
// SDK's many files), and a restarted coordinator places nothing meanwhile.
import { bundleNodePrograms } from './bundler.mjs';

await bundleNodePrograms({ maestro: 'dist/maestro-main.js', coordinator: 'dist/main.js' }, 'dist');
