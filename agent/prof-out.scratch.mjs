import { createReadStream } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { Writable, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import Docker from 'dockerode';
import * as tar from 'tar-stream';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { putSubjectFile } from '@katapult/object-files';
import { startNats } from '@katapult/testkit';
import { packOutputs } from './dist/files/work-folder.js';
const t = async (what, fn) => { const s = performance.now(); const c0 = process.cpuUsage(); const r = await fn(); const c = process.cpuUsage(c0); console.log(what.padEnd(40), ((performance.now() - s) / 1000).toFixed(2), 's', 'cpu', ((c.user + c.system) / 1e6).toFixed(2)); return r; };
const nats = await startNats();
const nc = await connect({ servers: nats.url });
await (await jetstreamManager(nc)).streams.add({ name: 'OUT', subjects: ['out.>'] });
const docker = new Docker();
const c = await docker.createContainer({ Image: process.env.IMAGE, Cmd: ['true'], WorkingDir: '/work' });
execFileSync('docker', ['cp', '/tmp/f12/big.bin', `${c.id}:/tmp/big.bin`]);
const sink = () => new Writable({ write(c, e, cb) { cb(); } });
const read = async (path) => (await c.getArchive({ path }));
for (let r = 0; r < 2; r++) {
  await t('getArchive -> null', async () => pipeline(await read('/tmp/big.bin'), sink()));
  await t('packOutputs -> null', async () => { const p = tar.pack(); const done = pipeline(Readable.from(p), sink()); await packOutputs((x) => read('/tmp/big.bin'), ['.'], p); p.finalize(); await done; });
  await t('createReadStream -> putSubjectFile', async () => putSubjectFile(nc, `out.f${r}`, createReadStream('/tmp/f12/big.bin')));
  await t('packOutputs -> putSubjectFile', async () => { const p = tar.pack(); const done = putSubjectFile(nc, `out.g${r}`, Readable.from(p)); await packOutputs((x) => read('/tmp/big.bin'), ['.'], p); p.finalize(); await done; });
}
await c.remove({ force: true });
await nc.close(); await nats.stop();
