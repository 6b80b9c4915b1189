export { Coordinator, type CoordinatorOptions } from './coordinator.js';
export type { AssignmentQueue, Dispatch, ReportDelivery } from './ports/dispatch.js';
export { buildServer, type ServerOptions } from './http/server.js';
export { LocalProvider, type LocalProviderOptions } from './providers/local-provider.js';
export { RunService, runViewOf, type RunServiceOptions } from './run-service.js';
export { PoolKeeper, poolIdsOf, type PoolKeeperOptions } from './pool-keeper.js';
export { readCoordinatorConfig, startCoordinator, type CoordinatorConfig, type RunningCoordinator, type StartOptions } from './start.js';
export { openJetStreamStore } from './store/jetstream-store.js';
export type { RunRecord, Store, Versioned } from './store/store.js';
export { jetStreamLogSource, type JobLogSource } from './job-log-source.js';
export { ensureStreams } from './streams.js';
export { serveReadGrants } from './read-grants.js';
// The port the coordinator drives its providers through is core's; re-exported for those that hand it one.
export type { AwsProviderFactory, EnsureContext, Provider, RunPlacement } from '@katapult/core';
export { ProviderRouter } from './providers/provider-router.js';
