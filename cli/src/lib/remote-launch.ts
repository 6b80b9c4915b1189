import { readFileSync } from 'node:fs';
import { awsClients, launchMaestro, MAESTRO_HTTP_PORT, MAESTRO_INSTANCE_TYPE, MAESTRO_NATS_PORT, renderMaestroUserData } from '@katapult/coordinator';
import { clusterNames, encodeMaestroEnv, ExitCode, KatapultError, plural, type RunSpec } from '@katapult/core/light';
import { ensureMaestroImage, ensureNodeImage } from '@katapult/images';
import { ensureApiToken } from './api-token.js';
import { REPO_ROOT, remoteStackContext } from './context.js';
import { readStack } from './stack-file.js';
import { ensureNatsAuth, natsFiles } from './nats-auth.js';
import { ensureNatsTls } from './nats-tls.js';
import { withNats } from './nats.js';
import { prepareAgentImage, publishAgentImage, publishImage, MAESTRO_REPOSITORY, type BuildContext } from './prepare-images.js';
import { isAlive } from './processes.js';
import {
  maestroTlsName,
  readRemoteStack,
  writeRemoteStack,
  type RemoteStack,
} from './remote-stack.js';
import { uploadRunFiles } from './run-files.js';
import type { Submission, SubmittedRun } from './submit-run.js';
import { formatBytes } from '../render/table.js';

/** Docker installed, the maestro image pulled, NATS and the coordinator up: a few minutes on a small instance. */
const MAESTRO_BOOT_MS = 15 * 60_000;

/**
 * What the maestro's boot script writes into its state folder: the secrets of this stack, made here once and
 * kept in the local state folder as a local stack's are (CA and a server certificate for the maestro's name,
 * the NATS admin, the API token), so the CLI trusts and reaches it.
 */
export function prepareMaestroState(dir: string, project: string): { tlsName: string; stateFiles: Record<string, string> } {
  const tlsName = maestroTlsName(project);
  const tls = ensureNatsTls(dir, [tlsName]);
  ensureNatsAuth(dir);
  const token = ensureApiToken(dir);
  return {
    tlsName,
    stateFiles: {
      'tls/ca.pem': readFileSync(tls.ca, 'utf8'),
      'tls/server.pem': readFileSync(tls.cert, 'utf8'),
      'tls/server-key.pem': readFileSync(tls.key, 'utf8'),
      'nats-auth.json': readFileSync(natsFiles(dir).auth, 'utf8'),
      'api-token': `${token}\n`,
    },
  };
}

/** The maestro this state folder records, when it answers; otherwise one launched (or found running) on EC2. */
export async function ensureMaestro(context: BuildContext, spec: RunSpec, step: (line: string) => void): Promise<RemoteStack> {
  const dir = context.stateDir;
  const local = readStack(dir);
  if (local && isAlive(local.nats.pid)) {
    throw new KatapultError('KP_STACK_KIND', `a local stack runs in ${dir}, and a state folder holds one stack`, {
      hint: `give the maestro its own: KATAPULT_HOME=~/.katapult-${spec.project} katapult launch …, or stop the local one with katapult down`,
      exitCode: ExitCode.badInput,
    });
  }
  const recorded = readRemoteStack(dir);
  if (recorded && recorded.project !== spec.project) {
    throw new KatapultError('KP_STACK_KIND', `the maestro recorded in ${dir} serves project ${recorded.project}, not ${spec.project}`, {
      hint: `use another state folder (KATAPULT_HOME), or remove that one with katapult down <its config>`,
      exitCode: ExitCode.badInput,
    });
  }
  if (recorded && (await remoteStackContext(dir, recorded).client.healthy())) return recorded;

  const { tlsName, stateFiles } = prepareMaestroState(dir, spec.project);
  const node = await ensureNodeImage(context.docker, context.base.ref, { onProgress: context.onProgress });
  const built = await ensureMaestroImage(context.docker, { repoRoot: REPO_ROOT, nodeImage: node.ref, onProgress: context.onProgress });
  const image = await publishImage(context, spec, built.ref, MAESTRO_REPOSITORY);
  const clients = awsClients({ region: spec.instances.find((instance) => instance.region !== null)?.region ?? null, profile: spec.profile });
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
  step(`starting the maestro (${type} in ${region}), reachable from ${spec.maestroCidr}`);
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
    throw new KatapultError('KP_MAESTRO_ELSEWHERE', `project ${spec.project} already has a maestro, ${launched.instanceId} at ${launched.publicIp}, launched from another state folder`, {
      hint: 'use that state folder (KATAPULT_HOME), or remove the maestro with katapult down <config> from there',
      exitCode: ExitCode.badInput,
    });
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
  writeRemoteStack(dir, remote);
  step(`maestro ${remote.instanceId} at ${remote.publicIp}: waiting for it to boot (Docker, the maestro image, NATS, the coordinator)`);
  await waitForMaestro(dir, remote, step);
  return remote;
}

async function waitForMaestro(dir: string, remote: RemoteStack, step: (line: string) => void): Promise<void> {
  const { client } = remoteStackContext(dir, remote);
  const started = Date.now();
  let said = started;
  while (!(await client.healthy())) {
    if (Date.now() - started > MAESTRO_BOOT_MS) {
      throw new KatapultError('KP_MAESTRO_NOT_UP', `the maestro ${remote.instanceId} did not answer at ${client.baseUrl} within ${MAESTRO_BOOT_MS / 60_000} minutes`, {
        hint: `see its boot log: aws ec2 get-console-output --latest --instance-id ${remote.instanceId}; check that maestro_cidr includes this machine`,
        exitCode: ExitCode.infrastructure,
      });
    }
    if (Date.now() - said > 30_000) {
      said = Date.now();
      step(`maestro still booting (${Math.round((Date.now() - started) / 1000)}s)`);
    }
    await new Promise((resolve) => setTimeout(resolve, 5_000));
  }
}

/**
 * `launch` with `maestro: remote`: the maestro up (launched when needed), the agent image pushed where the
 * instances pull it, the run's files put in the maestro's object store over TLS, then the run submitted. Its
 * agents dial the maestro's private address, inside the VPC.
 */
export async function submitRemoteRun(context: BuildContext, submission: Submission, step: (line: string) => void): Promise<SubmittedRun> {
  const { spec, configFile, environments, projectFiles } = submission;
  const dir = context.stateDir;
  const remote = await ensureMaestro(context, spec, step);
  const { client, nats, stack } = remoteStackContext(dir, remote);
  const agentImage = await publishAgentImage(context, spec, await prepareAgentImage(context, REPO_ROOT));
  const upload = await withNats(nats, (nc) => uploadRunFiles(nc, clusterNames(remote.cluster), projectFiles));
  if (projectFiles.length > 0) step(`files: ${upload.uploaded} uploaded (${formatBytes(upload.bytes)}), ${upload.reused} already stored`);
  const images = Object.fromEntries(environments.map((image) => [image.name, image.ref]));
  // On the maestro, AWS is reached with its instance role in its own region: this machine's profile means nothing there.
  const placed = { ...spec, maestroAddress: remote.privateIp, profile: null };
  const secrets = submission.secrets && Object.keys(submission.secrets).length > 0 ? { secrets: submission.secrets } : {};
  const created = await client.createRun({ spec: placed, configFile, images, files: upload.files, agentImage, ...secrets });
  if (created.resumed) step(`run ${created.runId} is already going for this config (recover: true); following it instead of starting it again`);
  else step(`run ${created.runId} submitted to the maestro at ${remote.publicIp}: ${plural(spec.jobs.length, 'job')}`);
  return { dir, stack, client, nats, runId: created.runId, resumed: created.resumed };
}
