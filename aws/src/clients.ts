import { EC2Client } from '@aws-sdk/client-ec2';
import { IAMClient } from '@aws-sdk/client-iam';
import { quietAwsSdk } from '@katapult/core';
import type { AwsClients } from './aws-provider.js';

/**
 * The AWS provider's clients. No endpoint is set here: the SDK takes it from its usual configuration
 * (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_EC2, AWS_ENDPOINT_URL_IAM, or `endpoint_url` in the profile), so a local
 * stand-in for AWS can be used; credentials come from the profile or the environment, and are needed only here.
 */
export function awsClients(options: { region?: string | null; profile?: string | null }): AwsClients {
  quietAwsSdk();
  const config = { ...(options.region ? { region: options.region } : {}), ...(options.profile ? { profile: options.profile } : {}) };
  return { ec2: new EC2Client(config), iam: new IAMClient(config) };
}
