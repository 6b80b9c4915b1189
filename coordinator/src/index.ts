export { Coordinator, type CoordinatorOptions } from './coordinator.js';
export { buildServer } from './http/server.js';
export { LocalProvider, type LocalProviderOptions } from './providers/local-provider.js';
export type { Provider } from './providers/provider.js';
export { RunService } from './run-service.js';
export { readCoordinatorConfig, startCoordinator, type CoordinatorConfig, type RunningCoordinator } from './start.js';
export { openJetStreamStore } from './store/jetstream-store.js';
export type { RunRecord, Store, Versioned } from './store/store.js';
export { ensureStreams } from './streams.js';
