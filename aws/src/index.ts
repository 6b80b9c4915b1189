export { AwsProvider, type AwsAgentSettings, type AwsClients, type AwsProviderOptions } from './aws-provider.js';
export { downProject, listProjectResources, type DownItem, type DownItemEvent, type DownOptions, type DownResult } from './aws-down.js';
export { toKatapultError as awsErrorToKatapult, type AwsCallContext } from './aws-errors.js';
export { awsClients } from './clients.js';
export { renderUserData, type UserDataOptions } from './user-data.js';
export { runInstancesInput, DEFAULT_INSTANCE_TYPE, type LaunchInput } from './launch-input.js';
export { TAG as AWS_TAG } from './tags.js';
export {
  launchMaestro,
  maestroRunInstancesInput,
  maestroTags,
  MAESTRO_DISK_GIB,
  MAESTRO_HTTP_PORT,
  MAESTRO_INSTANCE_TYPE,
  MAESTRO_NATS_PORT,
  type MaestroInstance,
  type MaestroLaunchOptions,
} from './maestro.js';
export { maestroPolicy, maestroResourceName, MAESTRO_POLICY, MAESTRO_ROLE } from './maestro-resources.js';
export {
  renderMaestroUserData,
  MAESTRO_CONTAINER,
  MAESTRO_ENV_FILE,
  MAESTRO_STATE_DIR,
  type MaestroUserDataOptions,
} from './maestro-user-data.js';
export { listTaggedEc2, listTaggedIam, type TaggedResource } from './tagged-resources.js';
export { AwsPriceLookup, awsPriceLookup, type PriceClients, type PriceLookupOptions } from './prices.js';
export { awsProviderFactory, instanceNatsUrl, type AwsPlacementSettings } from './aws-placement.js';
