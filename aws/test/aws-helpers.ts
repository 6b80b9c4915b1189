import { EC2ServiceException } from '@aws-sdk/client-ec2';
import { loadConfig, type InstanceSpec } from '@katapult/core';
import type { AwsStub } from 'aws-sdk-client-mock';

/** The instances of a katapult.yaml, normalized as the coordinator receives them. */
export function instancesOf(yaml: string): InstanceSpec[] {
  return loadConfig(`project: demo\n${yaml}\njobs:\n  - {run_command: "true"}\n`, 'demo.yaml', { defaultCpus: 2 }).instances;
}

/** The commands sent to several mocked clients, in the order they were sent, as `Ec2.RunInstances` etc. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function callOrder(mocks: Record<string, AwsStub<any, any, any>>): string[] {
  return Object.entries(mocks)
    .flatMap(([client, mock]) =>
      mock.calls().map((call) => ({
        id: (call as typeof call & { callId: number }).callId,
        name: `${client}.${(call.args[0] as object).constructor.name.replace(/Command$/, '')}`,
      })),
    )
    .sort((a, b) => a.id - b.id)
    .map((call) => call.name);
}

/** An EC2 error as the SDK throws it: the AWS error code is its name. */
export function ec2Error(code: string, message: string, attempts = 1): EC2ServiceException {
  return new EC2ServiceException({ name: code, $fault: 'client', $metadata: { httpStatusCode: 400, attempts }, message });
}
