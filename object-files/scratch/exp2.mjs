import { connect } from '@nats-io/transport-node';
import { jetstreamManager, jetstream } from '@nats-io/jetstream';
const nc = await connect({ servers: '127.0.0.1:14223' });
const jsm = await jetstreamManager(nc);
for (const [name, mb] of [['A', 60], ['B', 60], ['C', -1]]) {
  try { await jsm.streams.add({ name, subjects: [name.toLowerCase() + '.>'], max_bytes: mb < 0 ? -1 : mb * 1024 * 1024, discard: 'new' }); console.log(name, 'ok'); } catch (e) { console.log(name, 'ERR', e.message); }
}
const info = await jsm.getAccountInfo(); console.log(JSON.stringify(info.limits), info.storage);
// fill A to limit
const js = jetstream(nc);
try { for (let i = 0; i < 100; i++) await js.publish('a.x', new Uint8Array(1024 * 1024 - 200)); } catch (e) { console.log('publish ERR:', e.message, e.constructor.name, JSON.stringify(e.api_error ?? e.cause ?? null)); }
await nc.close();
