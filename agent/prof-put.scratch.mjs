import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { execFileSync } from 'node:child_process';
import Docker from 'dockerode';
import * as tar from 'tar-stream';
import { Readable } from 'node:stream';
const image = process.env.IMAGE; const path = '/tmp/f12/big.bin';
const out = createWriteStream(path);
for (let i = 0; i < 200; i++) if (!out.write(randomBytes(1 << 20))) await once(out, 'drain');
out.end(); await once(out, 'finish');
const docker = new Docker();
const t = async (what, fn) => { const s = performance.now(); await fn(); console.log(what.padEnd(30), ((performance.now() - s) / 1000).toFixed(2)); };
for (let r = 0; r < 3; r++) {
  const c = await docker.createContainer({ Image: image, Cmd: ['true'] });
  await t('docker cp in', async () => execFileSync('docker', ['cp', path, `${c.id}:/tmp/big.bin`]));
  await t('putArchive tar-stream', async () => {
    const pack = tar.pack();
    (async () => { const src = createReadStream(path, { highWaterMark: 1 << 20 }); await new Promise((res, rej) => { src.on('error', rej); src.pipe(pack.entry({ name: 'tmp/b2.bin', size: 200 << 20 }, (e) => e ? rej(e) : res())); }); pack.finalize(); })();
    await c.putArchive(Readable.from(pack), { path: '/' });
  });
  await t('putArchive pack direct', async () => {
    const pack = tar.pack();
    (async () => { const src = createReadStream(path, { highWaterMark: 1 << 20 }); await new Promise((res, rej) => { src.on('error', rej); src.pipe(pack.entry({ name: 'tmp/b3.bin', size: 200 << 20 }, (e) => e ? rej(e) : res())); }); pack.finalize(); })();
    await c.putArchive(pack, { path: '/' });
  });
  await c.remove({ force: true });
}
