/**
 * Every KP_* code Katapult raises, with the exit code the CLI ends with, the HTTP status the coordinator answers
 * with, and what it means in one line. docs/ERRORS.md is generated from this table (pnpm run docs:errors).
 */
import { ExitCode } from './exit-code.js';

export interface ErrorCodeEntry {
  readonly exitCode: ExitCode;
  readonly httpStatus: number;
  readonly meaning: string;
}

const bad = ExitCode.badInput;
const infra = ExitCode.infrastructure;
const failed = ExitCode.jobFailed;

export const ERROR_CATALOGUE = {
  KP_AGENTS_NOT_UP: {
    exitCode: infra,
    httpStatus: 500,
    meaning: 'no agent registered within the boot timeout; the run is kept and starts when one does',
  },
  KP_AGENT_BUNDLE_MISSING: {
    exitCode: infra,
    httpStatus: 500,
    meaning: 'the agent bundle is not built, so the agent image cannot be made (run pnpm build)',
  },
  KP_AGENT_CONFIG: { exitCode: bad, httpStatus: 400, meaning: "an agent's KATAPULT_* environment variable is missing or malformed" },
  KP_API_BAD_DEPENDENCY: {
    exitCode: bad,
    httpStatus: 400,
    meaning: 'a job waits (after, inputs_from) for a job that is not in the run, or for itself',
  },
  KP_API_BAD_PATH: {
    exitCode: bad,
    httpStatus: 400,
    meaning: "a file path in a job's spec is absolute, leaves the work folder or names the folder itself",
  },
  KP_API_BAD_RESPONSE: { exitCode: infra, httpStatus: 500, meaning: "the coordinator's answer does not match the API's schema" },
  KP_API_BAD_REQUEST: { exitCode: bad, httpStatus: 400, meaning: "an API request's body or parameters do not match its schema" },
  KP_API_FILE_NOT_UPLOADED: { exitCode: bad, httpStatus: 400, meaning: 'a job names a file that was not uploaded with the run' },
  KP_API_HOST_NETWORK: { exitCode: bad, httpStatus: 400, meaning: 'a job asks for the host network but the run does not allow it' },
  KP_API_IMAGE_NOT_PINNED: { exitCode: bad, httpStatus: 400, meaning: "a run's image is not pinned by digest" },
  KP_API_NO_IMAGE: { exitCode: bad, httpStatus: 400, meaning: 'an environment of the run has no image' },
  KP_API_TOKEN_MISSING: { exitCode: bad, httpStatus: 400, meaning: 'the coordinator was started without an API token long enough' },
  KP_API_TOO_LARGE: { exitCode: bad, httpStatus: 413, meaning: "an API request's body is larger than the coordinator accepts" },
  KP_API_UNAUTHORIZED: { exitCode: infra, httpStatus: 401, meaning: 'an API request carries no valid API token' },
  KP_ATTEMPT_NOT_FOUND: { exitCode: bad, httpStatus: 404, meaning: 'the job has not had the attempt asked for' },
  KP_AWS_CPUS: { exitCode: bad, httpStatus: 400, meaning: 'instances[].cpus is more than the instance type has' },
  KP_AWS_DOWN_TIMEOUT: {
    exitCode: infra,
    httpStatus: 500,
    meaning: 'instances were still not terminated when katapult down stopped waiting',
  },
  KP_AWS_ECR_LOGIN: { exitCode: infra, httpStatus: 500, meaning: 'ECR gave no authorization token' },
  KP_AWS_ERROR: { exitCode: infra, httpStatus: 500, meaning: 'an AWS call failed for a reason Katapult does not name more precisely' },
  KP_AWS_IMAGE_NOT_FOUND: { exitCode: bad, httpStatus: 404, meaning: 'the AMI asked for (or a Debian 12 AMI) is not found in the region' },
  KP_AWS_INSTANCE_TYPE: { exitCode: bad, httpStatus: 400, meaning: 'the instance type is not offered in the region' },
  KP_AWS_KEY_FILE: { exitCode: infra, httpStatus: 500, meaning: "the key pair's private key file is missing, or would be overwritten" },
  KP_AWS_MAESTRO_CIDR: { exitCode: bad, httpStatus: 400, meaning: "a maestro's allowed address range is not a CIDR" },
  KP_AWS_MAESTRO_GONE: { exitCode: infra, httpStatus: 500, meaning: 'the maestro instance is shutting down or terminated' },
  KP_AWS_MAESTRO_TIMEOUT: { exitCode: infra, httpStatus: 500, meaning: 'the maestro instance did not get a public address in time' },
  KP_AWS_NAME_TAKEN: {
    exitCode: infra,
    httpStatus: 500,
    meaning: "an IAM name Katapult needs belongs to something that is not Katapult's",
  },
  KP_AWS_NEEDS_TLS: { exitCode: bad, httpStatus: 400, meaning: "EC2 agents are asked for while the stack's NATS does not speak TLS" },
  KP_AWS_NO_AGENT_IMAGE: { exitCode: bad, httpStatus: 400, meaning: 'the run names no agent image that EC2 instances can pull' },
  KP_AWS_NO_CAPACITY: { exitCode: infra, httpStatus: 500, meaning: 'AWS has no capacity for the instance type in the regions tried' },
  KP_AWS_NO_CREDENTIALS: { exitCode: infra, httpStatus: 500, meaning: 'no AWS credentials were found' },
  KP_AWS_NO_MAESTRO_ADDRESS: { exitCode: bad, httpStatus: 400, meaning: 'the run has no maestro_address for EC2 instances to reach' },
  KP_AWS_NO_SUBNET: { exitCode: infra, httpStatus: 500, meaning: 'the default VPC has no default subnet' },
  KP_AWS_QUOTA: { exitCode: infra, httpStatus: 500, meaning: 'an AWS quota is reached' },
  KP_AWS_REGION: { exitCode: bad, httpStatus: 400, meaning: 'an instance group names a region this AWS provider does not work in' },
  KP_AWS_SPOT_PRICE: { exitCode: infra, httpStatus: 500, meaning: 'max_bid is below the current spot price' },
  KP_AWS_THROTTLED: { exitCode: infra, httpStatus: 500, meaning: 'AWS throttled the requests, even after retries' },
  KP_AWS_UNAUTHORIZED: {
    exitCode: infra,
    httpStatus: 500,
    meaning: 'AWS refused the credentials, or they may not make a call Katapult needs',
  },
  KP_AWS_USER_DATA: { exitCode: bad, httpStatus: 400, meaning: "a value to put in an instance's boot script holds a line break or NUL" },
  KP_CONFIG_INVALID: { exitCode: bad, httpStatus: 400, meaning: 'the config file does not match the schema' },
  KP_CONFIG_NOT_FOUND: { exitCode: bad, httpStatus: 404, meaning: 'the config file does not exist or cannot be read' },
  KP_CONFIG_PYTHON: {
    exitCode: bad,
    httpStatus: 400,
    meaning: 'the config is a Python file of the original tool (katapult import converts it)',
  },
  KP_CONFIG_SYNTAX: { exitCode: bad, httpStatus: 400, meaning: 'the config file is not valid YAML or JSON' },
  KP_COORDINATOR_CONFIG: {
    exitCode: bad,
    httpStatus: 400,
    meaning: "a coordinator's KATAPULT_* environment variable or file is missing or malformed",
  },
  KP_COORDINATOR_ERROR: { exitCode: infra, httpStatus: 500, meaning: 'the coordinator answered with an error that carries no code' },
  KP_COORDINATOR_UNREACHABLE: { exitCode: infra, httpStatus: 500, meaning: "the coordinator's API cannot be reached" },
  KP_COST_UNAVAILABLE: { exitCode: infra, httpStatus: 500, meaning: "a run's max_cost cannot be checked because prices are unavailable" },
  KP_DISK_FULL: { exitCode: infra, httpStatus: 500, meaning: "a disk has too little free space for the stack's state or the files" },
  KP_DOCKER_UNREACHABLE: { exitCode: infra, httpStatus: 500, meaning: 'the Docker engine does not answer' },
  KP_ENV_BUILD_FAILED: { exitCode: infra, httpStatus: 500, meaning: "a step of an environment's image build failed" },
  KP_ENV_SPEC_INVALID: { exitCode: bad, httpStatus: 400, meaning: "an environment's spec cannot be built into an image" },
  KP_EXEC_AGENT_LOST: { exitCode: infra, httpStatus: 500, meaning: 'nothing was heard from the agent of an exec session for too long' },
  KP_EXEC_FAILED: { exitCode: infra, httpStatus: 500, meaning: "the agent could not run the exec session's command" },
  KP_EXEC_NO_AGENT: { exitCode: infra, httpStatus: 500, meaning: "the agent did not start the exec session's command in time" },
  KP_EXEC_NO_EXIT_CODE: { exitCode: infra, httpStatus: 500, meaning: "the exec session's command ended without a readable exit code" },
  KP_FILE_CHANGED: { exitCode: bad, httpStatus: 400, meaning: 'a file the config names changed while it was being uploaded' },
  KP_FILE_MISSING: { exitCode: bad, httpStatus: 400, meaning: 'a file the config names does not exist' },
  KP_FILE_NOT_A_FILE: { exitCode: bad, httpStatus: 400, meaning: 'a path the config names as a file is a folder' },
  KP_FILE_OUTSIDE_PROJECT: { exitCode: bad, httpStatus: 400, meaning: 'a path the config names is outside the project folder' },
  KP_HISTORY_UNREADABLE: { exitCode: infra, httpStatus: 500, meaning: 'the kept history of a stopped stack cannot be read' },
  KP_IMAGE_BOOTSTRAP_FAILED: { exitCode: infra, httpStatus: 500, meaning: 'making the base image with debootstrap failed' },
  KP_IMAGE_BOOTSTRAP_UNAVAILABLE: {
    exitCode: infra,
    httpStatus: 500,
    meaning: 'debootstrap is needed for the base image but cannot be run',
  },
  KP_IMAGE_BUILD_FAILED: { exitCode: infra, httpStatus: 500, meaning: 'building an image failed' },
  KP_IMAGE_LOCK_TIMEOUT: { exitCode: infra, httpStatus: 500, meaning: 'another build held the image-build lock for too long' },
  KP_IMAGE_PULL_FAILED: { exitCode: bad, httpStatus: 400, meaning: "an environment's `image` cannot be pulled" },
  KP_IMAGE_PUSH_FAILED: { exitCode: infra, httpStatus: 500, meaning: 'pushing an image to the registry failed' },
  KP_IMAGE_REF_INVALID: { exitCode: bad, httpStatus: 400, meaning: 'an image reference is malformed' },
  KP_IMPORT_EXISTS: { exitCode: bad, httpStatus: 400, meaning: 'katapult import would overwrite an existing file' },
  KP_IMPORT_SYNTAX: { exitCode: bad, httpStatus: 400, meaning: 'the Python config to import is not one katapult import can read' },
  KP_INIT_EXISTS: { exitCode: bad, httpStatus: 400, meaning: 'katapult init would overwrite an existing file' },
  KP_INTERNAL: { exitCode: infra, httpStatus: 500, meaning: 'an unexpected error (a bug: KATAPULT_DEBUG=1 shows where)' },
  KP_JOB_FAILED: { exitCode: failed, httpStatus: 500, meaning: 'a job the caller waited for failed' },
  KP_JOB_NOT_FOUND: { exitCode: bad, httpStatus: 404, meaning: 'the run has no job of that name' },
  KP_JOB_NOT_RUNNING: { exitCode: bad, httpStatus: 400, meaning: 'the job has no running container to enter' },
  KP_LOGS_UNAVAILABLE: { exitCode: infra, httpStatus: 500, meaning: "a job's log cannot be read" },
  KP_MAESTRO_BUNDLE_MISSING: {
    exitCode: infra,
    httpStatus: 500,
    meaning: 'the maestro bundle is not built, so the maestro image cannot be made (run pnpm build)',
  },
  KP_MAESTRO_CONFIG: { exitCode: bad, httpStatus: 400, meaning: "a maestro's settings are missing or malformed" },
  KP_MAESTRO_ELSEWHERE: { exitCode: bad, httpStatus: 400, meaning: 'the project already has a maestro launched from another state folder' },
  KP_MAESTRO_NOT_UP: { exitCode: infra, httpStatus: 500, meaning: 'the maestro did not answer in time after it was launched' },
  KP_MAESTRO_NO_LOCAL: {
    exitCode: bad,
    httpStatus: 400,
    meaning: 'a run on a maestro asks for local agents, and the maestro has no Docker to start them',
  },
  KP_MAESTRO_STATE: { exitCode: infra, httpStatus: 500, meaning: "a file the maestro's boot script writes is missing or unreadable" },
  KP_NO_GPU_RUNTIME: { exitCode: infra, httpStatus: 500, meaning: "a job asks for GPUs but the instance's Docker has no NVIDIA runtime" },
  KP_NO_REGISTRY: { exitCode: bad, httpStatus: 400, meaning: 'the config names no registry where one is needed' },
  KP_OUTPUTS_GONE: { exitCode: infra, httpStatus: 500, meaning: "a job's outputs are no longer stored" },
  KP_PULL_AUTH: { exitCode: infra, httpStatus: 500, meaning: "the registry refused the agent's credentials for a job's image" },
  KP_PULL_FAILED: { exitCode: infra, httpStatus: 500, meaning: "an agent could not pull a job's image" },
  KP_REGISTRY_ERROR: { exitCode: infra, httpStatus: 500, meaning: 'the registry cannot be reached or answered with an error' },
  KP_RUN_FOLDER_TOO_BIG: { exitCode: bad, httpStatus: 400, meaning: 'the folder katapult run would upload is larger than --max-upload' },
  KP_RUN_NOT_FOUND: { exitCode: bad, httpStatus: 404, meaning: 'there is no run of that id' },
  KP_RUN_SAVE_EXISTS: { exitCode: bad, httpStatus: 400, meaning: 'katapult run --save would overwrite an existing file' },
  KP_RUN_SCRIPT_KIND: { exitCode: bad, httpStatus: 400, meaning: 'katapult run was given a script that is neither Python nor Julia' },
  KP_RUN_SCRIPT_NOT_FOUND: { exitCode: bad, httpStatus: 404, meaning: 'the script given to katapult run does not exist' },
  KP_RUN_SCRIPT_OUTSIDE: { exitCode: bad, httpStatus: 400, meaning: 'the script given to katapult run is outside the current folder' },
  KP_SECRETS_FILE: { exitCode: bad, httpStatus: 400, meaning: 'the --secrets-file cannot be read or is malformed' },
  KP_SECRETS_NO_AGENT_KEY: {
    exitCode: infra,
    httpStatus: 500,
    meaning: "the agent has no NATS user of its own to seal a job's secrets for",
  },
  KP_SECRETS_UNAVAILABLE: { exitCode: infra, httpStatus: 500, meaning: 'the coordinator has no key to keep secrets with' },
  KP_SECRETS_UNREADABLE: { exitCode: infra, httpStatus: 500, meaning: "a run's or job's sealed secrets cannot be opened" },
  KP_SECRET_MISSING: { exitCode: bad, httpStatus: 400, meaning: 'no value was given for a secret the config names' },
  KP_STACK_CONFIG: {
    exitCode: bad,
    httpStatus: 400,
    meaning: 'a KATAPULT_* variable the stack is started with (KATAPULT_STREAM_MAX_BYTES) is malformed',
  },
  KP_STACK_KIND: { exitCode: bad, httpStatus: 400, meaning: "the state folder holds another kind of stack, or another project's" },
  KP_STACK_MISSING_BINARY: { exitCode: infra, httpStatus: 500, meaning: 'a program the stack needs (nats-server, ...) is not installed' },
  KP_STACK_NOT_EXPOSED: { exitCode: infra, httpStatus: 500, meaning: "the stack's NATS cannot be reached at maestro_address" },
  KP_STACK_NOT_RUNNING: { exitCode: infra, httpStatus: 500, meaning: 'no stack is running in the state folder' },
  KP_STACK_NO_CA: { exitCode: infra, httpStatus: 500, meaning: "the remote stack's CA certificate is missing from the state folder" },
  KP_STACK_NO_NATS_CREDENTIALS: { exitCode: infra, httpStatus: 500, meaning: 'the state folder holds no NATS credentials for the stack' },
  KP_STACK_NO_TOKEN: { exitCode: infra, httpStatus: 500, meaning: 'the state folder holds no API token for the stack' },
  KP_STACK_SPAWN: { exitCode: infra, httpStatus: 500, meaning: 'a process of the stack could not be started' },
  KP_STACK_START_TIMEOUT: { exitCode: infra, httpStatus: 500, meaning: 'a process of the stack did not become ready in time' },
  KP_STATE_FILE: { exitCode: infra, httpStatus: 500, meaning: 'a file of the state folder is not JSON or does not match its schema' },
  KP_STORE_FULL: { exitCode: infra, httpStatus: 500, meaning: "the stack's object store is full" },
  KP_STORE_RECORD: { exitCode: infra, httpStatus: 500, meaning: "a record of the coordinator's KV buckets does not match its schema" },
  KP_TIMELINE_WRITE: { exitCode: bad, httpStatus: 400, meaning: 'the --timeline file cannot be written' },
  KP_TLS_CERTIFICATES: { exitCode: infra, httpStatus: 500, meaning: "the stack's TLS certificates could not be made with openssl" },
  KP_USAGE: { exitCode: bad, httpStatus: 400, meaning: "a command's arguments or flags are wrong" },
  KP_WAIT_TIMEOUT: { exitCode: infra, httpStatus: 500, meaning: 'a run did not reach the awaited state within the timeout' },
} as const satisfies Record<string, ErrorCodeEntry>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

export function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(ERROR_CATALOGUE, code);
}

export function exitCodeOf(code: ErrorCode): ExitCode {
  return ERROR_CATALOGUE[code].exitCode;
}

/** The status the coordinator answers an error with; a code it does not know is its own failure (500). */
export function httpStatusOf(code: string): number {
  return isErrorCode(code) ? ERROR_CATALOGUE[code].httpStatus : 500;
}
