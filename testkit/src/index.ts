export { freePort } from './free-port.js';
export { startNats, type NatsServer, type StartNatsOptions } from './nats.js';
export { portOpen } from './port-open.js';
export { startRegistry, type RegistryServer } from './registry.js';
export { requireDocker } from './require-docker.js';
export { tempDir } from './temp-dir.js';
export { waitFor, type WaitForOptions } from './wait-for.js';
export { startWheelIndex, type WheelIndex } from './wheel-index.js';
export { environmentSpec } from './fixtures.js';
