import { connect } from '@nats-io/transport-node';
import { jetstreamManager, jetstream } from '@nats-io/jetstream';
const nc = await connect({ servers: '127.0.0.1:14224' });
const jsm = await jetstreamManager(nc);
if (process.argv[2] === 'make') {
  await jsm.streams.add({ name: 'A', subjects: ['a.>'], max_bytes: 60 * 1024 * 1024, discard: 'new' });
  await jetstream(nc).publish('a.x', 'hello');
}
try { const i = await jsm.streams.info('A'); console.log('A loaded', i.state.messages, i.config.max_bytes); } catch (e) { console.log('A:', e.message); }
await nc.close();
