// scratch: where staging a 200 MB object goes (not committed)
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { writeFile, rm } from 'node:fs/promises';
import { once } from 'node:events';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import Docker from 'dockerode';
import { Objm } from '@nats-io/obj';
import { connect } from '@nats-io/transport-node';
import { clusterNames } from '@katapult/core';
import { putObject, grantObjectRead, readGrantedObject } from '@katapult/object-files';
import { startNats, tempDir } from '@katapult/testkit';
import { openJobFileStore } from './dist/index.js';
import { packWorkFolder } from './dist/files/work-folder.js';

const MB = Number(process.env.MB ?? 200);
const names = clusterNames('prof');
const nats = await startNats();
const nc = await connect({ servers: nats.url });
await new Objm(nc).create(names.fileStore);
const dir = await tempDir('prof');
const path = `${dir}/big.bin`;
const out = createWriteStream(path);
for (let i = 0; i < MB; i++) if (!out.write(randomBytes(1 << 20))) await once(out, 'drain');
out.end(); await once(out, 'finish');
const t = async (what, fn) => { const s = performance.now(); const c0 = process.cpuUsage(); const r = await fn(); const c = process.cpuUsage(c0); console.log(what.padEnd(40), ((performance.now() - s) / 1000).toFixed(2), 's', 'cpu', ((c.user + c.system) / 1e6).toFixed(2)); return r; };
const sink = () => new Writable({ write(c, e, cb) { cb(); } });
let hex;
await t('hash file', async () => { const h = createHash('sha256'); for await (const c of createReadStream(path)) h.update(c); hex = h.digest('hex'); });
const object = `sha256-${hex}`;
await t('putObject', () => putObject(nc, names.fileStore, object, createReadStream(path)));
await t('putObject 4MiB chunks? (max_payload)', async () => console.log('max_payload', nc.info?.max_payload));
const grant = () => grantObjectRead(nc, names.fileStore, object);
await t('readGrantedObject -> null', async () => pipeline(readGrantedObject(nc, object, await grant(), grant), sink()));
const ask = async (_a, obj) => grantObjectRead(nc, names.fileStore, obj);
const cache = await tempDir('cache');
const files = await openJobFileStore(nc, names, 'a', cache, ask);
await t('files.open (download+cache) -> null', async () => pipeline(await files.open(object, {}), sink()));
await t('files.open (cached) -> null', async () => pipeline(await files.open(object, {}), sink()));
const staged = [{ path: 'data/big.bin', object, size: MB << 20, executable: false, shared: false }];
await t('packWorkFolder (cached) -> null', async () => pipeline(packWorkFolder(staged, (o) => files.open(o, {})), sink()));
await rm(`${cache}/${object}`);
await t('packWorkFolder (download) -> null', async () => pipeline(packWorkFolder(staged, (o) => files.open(o, {})), sink()));
const docker = new Docker();
const image = process.env.IMAGE;
if (image) {
  for (const cached of [true, false]) {
    if (!cached) await rm(`${cache}/${object}`);
    const c = await docker.createContainer({ Image: image, Cmd: ['true'] });
    try {
      await t(`putArchive (${cached ? 'cached' : 'download'})`, async () => { const s = packWorkFolder(staged, (o) => files.open(o, {})); await c.putArchive(s, { path: '/' }); });
    } finally { await c.remove({ force: true }); }
  }
}
await nc.close(); await nats.stop(); await rm(dir, { recursive: true }); await rm(cache, { recursive: true });
