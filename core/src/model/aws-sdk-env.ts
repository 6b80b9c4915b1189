/** The AWS SDK's own switch for its Node.js version notice (8 lines on stderr per process on Node < 22). */
export const AWS_SDK_NODE_WARNING_SWITCH = 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED';

/**
 * Turns the AWS SDK's Node.js version notice off in `env` unless it was set there: it would interleave with
 * Katapult's one-line errors and says nothing about the command run. Call it before any SDK client is made.
 */
export function quietAwsSdk(env: NodeJS.ProcessEnv = process.env): void {
  env[AWS_SDK_NODE_WARNING_SWITCH] ??= 'true';
}
