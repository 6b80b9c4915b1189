export { AwsProvider, type AwsAgentSettings, type AwsClients, type AwsProviderOptions } from './aws-provider.js';
export { downProject, listProjectResources, describeItem, type DownItem, type DownOptions, type DownResult } from './aws-down.js';
export { toKatapultError as awsErrorToKatapult, type AwsCallContext } from './aws-errors.js';
export { awsClients } from './clients.js';
export { renderUserData, type UserDataOptions } from './user-data.js';
export { runInstancesInput, DEFAULT_INSTANCE_TYPE, type LaunchInput } from './launch-input.js';
export { TAG as AWS_TAG } from './tags.js';
