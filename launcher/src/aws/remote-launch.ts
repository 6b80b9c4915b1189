import { readFileSync } from 'node:fs';
import {
  awsClients,
  launchMaestro,
  MAESTRO_HTTP_PORT,
  MAESTRO_INSTANCE_TYPE,
  MAESTRO_NATS_PORT,
  renderMaestroUserData,
} from '@katapult/aws';
import { clusterNames, encodeMaestroEnv, ExitCode, KatapultError, type RunSpec } from '@katapult/core/light';
import { ensureMaestroImage, ensureNodeImage } from '@katapult/images';
import { ensureApiToken } from '../state/api-token.js';
import { REPO_ROOT, remoteStackContext } from '../stack/context.js';
import { readStack } from '../state/stack-file.js';
import { ensureNatsAuth, natsFiles } from '../state/nats-auth.js';
import { ensureNatsTls } from '../state/nats-tls.js';
import { withNats } from '../stack/nats.js';
import { prepareAgentImage, publishAgentImage, publishImage, MAESTRO_REPOSITORY, type BuildContext } from '../launch/prepare-images.js';
import { isAlive } from '../stack/processes.js';
import type { StateFolder } from '../state/state-folder.js';
import { maestroTlsName, readRemoteStack, writeRemoteStack, type RemoteStack } from '../state/remote-stack.js';
import { uploadRunFiles } from '../files/run-files.js';
import type { Submission, SubmittedRun } from '../launch/submit-run.js';
import type { OnLaunchEvent } from '../launch/launch-events.js';
import type { OnStackStep } from '../stack/stack-steps.js';

/** Docker installed, the maestro image pulled, NATS and the coordinator up: a few minutes on a small instance. */
const MAESTRO_BOOT_MS = 15 * 60_000;

/**
 * What the maestro's boot script writes into its state folder: the secrets of this stack, made here once and
 * kept in the local state folder as a local stack's are (CA and a server certificate for the maestro's name,
 * the NATS admin, the API token), so the CLI trusts and reaches it.
 */
export function prepareMaestroState(state: StateFolder, project: string): { tlsName: string; stateFiles: Record<string, string> } {
  const tlsName = maestroTlsName(project);
  const tls = ensureNatsTls(state, [tlsName]);
  ensureNatsAuth(state);
  const token = ensureApiToken(state);
  return {
    tlsName,
    stateFiles: {
      'tls/ca.pem': readFileSync(tls.ca, 'utf8'),
      'tls/server.pem': readFileSync(tls.cert, 'utf8'),
      'tls/server-key.pem': readFileSync(tls.key, 'utf8'),
      'nats-auth.json': readFileSync(natsFiles(state).auth, 'utf8'),
      'api-token': `${token}\n`,
    },
  };
}

/** The maestro this state folder records, when it answers; otherwise one launched (or found running) on EC2. */
export async function ensureMaestro(context: BuildContext, spec: RunSpec, step: OnStackStep): Promise<RemoteStack> {
  const state = context.state;
  const local = readStack(state);
  if (local && isAlive(local.nats.pid)) {
    throw new KatapultError('KP_STACK_KIND', `a local stack runs in ${state.root}, and a state folder holds one stack`, {
      hint: `give the maestro its own: KATAPULT_HOME=~/.katapult-${spec.project} katapult launch …, or stop the local one with katapult down`,
      exitCode: ExitCode.badInput,
    });
  }
  const recorded = readRemoteStack(state);
  if (recorded && recorded.project !== spec.project) {
    throw new KatapultError(
      'KP_STACK_KIND',
      `the maestro recorded in ${state.root} serves project ${recorded.project}, not ${spec.project}`,
      {
        hint: `use another state folder (KATAPULT_HOME), or remove that one with katapult down <its config>`,
        exitCode: ExitCode.badInput,
      },
    );
  }
  if (recorded && (await remoteStackContext(state, recorded).client.healthy())) return recorded;

  const { tlsName, stateFiles } = prepareMaestroState(state, spec.project);
  const node = await ensureNodeImage(context.docker, context.base.ref, { onProgress: context.onProgress });
  const built = await ensureMaestroImage(context.docker, { repoRoot: REPO_ROOT, nodeImage: node.ref, onProgress: context.onProgress });
  const image = await publishImage(context, spec, built.ref, MAESTRO_REPOSITORY);
  const clients = awsClients({
    region: spec.instances.find((instance) => instance.region !== null)?.region ?? null,
    profile: spec.profile,
  });
  // The maestro's role is scoped to one region: the instances' own, else the profile's default.
  const region = await clients.ec2.config.region();
  const cluster = spec.project;
  const label = `maestro-${spec.project}`;
  const userData = renderMaestroUserData({
    image,
    stateFiles,
    tlsName,
    env: encodeMaestroEnv({ cluster, stackLabel: label, natsPort: MAESTRO_NATS_PORT, httpPort: MAESTRO_HTTP_PORT }),
  });
  const type = spec.maestroType ?? MAESTRO_INSTANCE_TYPE;
  step({ step: 'maestro-starting', instanceType: type, region, cidr: spec.maestroCidr });
  const launched = await launchMaestro(clients, {
    owner: { project: spec.project, runId: 'maestro' },
    cluster,
    region,
    instanceType: type,
    imageId: spec.maestroImgId,
    allowedCidr: spec.maestroCidr ?? '',
    natsPort: MAESTRO_NATS_PORT,
    httpPort: MAESTRO_HTTP_PORT,
    userData,
  });
  if (launched.reused && !recorded) {
    // That maestro holds the secrets of the state folder that launched it, not these.
    throw new KatapultError(
      'KP_MAESTRO_ELSEWHERE',
      `project ${spec.project} already has a maestro, ${launched.instanceId} at ${launched.publicIp}, launched from another state folder`,
      {
        hint: 'use that state folder (KATAPULT_HOME), or remove the maestro with katapult down <config> from there',
        exitCode: ExitCode.badInput,
      },
    );
  }
  const remote: RemoteStack = {
    project: spec.project,
    region,
    profile: spec.profile,
    instanceId: launched.instanceId,
    publicIp: launched.publicIp,
    privateIp: launched.privateIp,
    natsPort: MAESTRO_NATS_PORT,
    httpPort: MAESTRO_HTTP_PORT,
    tlsName,
    cluster,
    label,
  };
  writeRemoteStack(state, remote);
  step({ step: 'maestro-booting', instanceId: remote.instanceId, publicIp: remote.publicIp });
  await waitForMaestro(state, remote, step);
  return remote;
}

async function waitForMaestro(state: StateFolder, remote: RemoteStack, step: OnStackStep): Promise<void> {
  const { client } = remoteStackContext(state, remote);
  const started = Date.now();
  let said = started;
  while (!(await client.healthy())) {
    if (Date.now() - started > MAESTRO_BOOT_MS) {
      throw new KatapultError(
        'KP_MAESTRO_NOT_UP',
        `the maestro ${remote.instanceId} did not answer at ${client.baseUrl} within ${MAESTRO_BOOT_MS / 60_000} minutes`,
        {
          hint: `see its boot log: aws ec2 get-console-output --latest --instance-id ${remote.instanceId}; check that maestro_cidr includes this machine`,
          exitCode: ExitCode.infrastructure,
        },
      );
    }
    if (Date.now() - said > 30_000) {
      said = Date.now();
      step({ step: 'maestro-still-booting', seconds: Math.round((Date.now() - started) / 1000) });
    }
    await new Promise((resolve) => setTimeout(resolve, 5_000));
  }
}

/**
 * `launch` with `maestro: remote`: the maestro up (launched when needed), the agent image pushed where the
 * instances pull it, the run's files put in the maestro's object store over TLS, then the run submitted. Its
 * agents dial the maestro's private address, inside the VPC.
 */
export async function submitRemoteRun(context: BuildContext, submission: Submission, emit: OnLaunchEvent): Promise<SubmittedRun> {
  const { spec, configFile, environments, projectFiles } = submission;
  const state = context.state;
  const remote = await ensureMaestro(context, spec, (step) => emit({ type: 'step', step }));
  const { client, nats, stack } = remoteStackContext(state, remote);
  const agentImage = await publishAgentImage(context, spec, await prepareAgentImage(context, REPO_ROOT));
  const upload = await withNats(nats, (nc) => uploadRunFiles(nc, clusterNames(remote.cluster), projectFiles));
  if (projectFiles.length > 0) emit({ type: 'files-uploaded', uploaded: upload.uploaded, reused: upload.reused, bytes: upload.bytes });
  const images = Object.fromEntries(environments.map((image) => [image.name, image.ref]));
  // On the maestro, AWS is reached with its instance role in its own region: this machine's profile means nothing there.
  const placed = { ...spec, maestroAddress: remote.privateIp, profile: null };
  const secrets = submission.secrets && Object.keys(submission.secrets).length > 0 ? { secrets: submission.secrets } : {};
  const created = await client.createRun({ spec: placed, configFile, images, files: upload.files, agentImage, ...secrets });
  if (created.resumed) emit({ type: 'run-resumed', runId: created.runId });
  else
    emit({
      type: 'run-submitted',
      runId: created.runId,
      jobs: spec.jobs.length,
      instances: spec.instances.reduce((n, i) => n + i.number, 0),
      maestro: remote.publicIp,
    });
  return { state, stack, client, nats, runId: created.runId, resumed: created.resumed };
}
