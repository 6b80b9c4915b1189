import { Readable } from 'node:stream';
import { ECRClient, GetAuthorizationTokenCommand } from '@aws-sdk/client-ecr';
import type Docker from 'dockerode';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import type { Assignment } from '@katapult/core';
import {
  ecrAuthSources,
  EcrTokenSource,
  imagePuller,
  registryHost,
  runJobAttempt,
  type JobFileStore,
  type JobSink,
  type RegistryCredentials,
} from '../src/index.js';

/** AWS cannot be reached from here: GetAuthorizationToken is answered by aws-sdk-client-mock. */
const ecr = mockClient(ECRClient);
const HOST = '123456789012.dkr.ecr.eu-west-3.amazonaws.com';
const IMAGE = `${HOST}/katapult/env:abc`;
const HOUR = 3_600_000;
const token = (password: string) => Buffer.from(`AWS:${password}`).toString('base64');

/** Answers GetAuthorizationToken with password-1, password-2, … each valid for 12 hours from `clock.now`. */
function answerTokens(clock: { now: number }): void {
  let issued = 0;
  ecr.on(GetAuthorizationTokenCommand).callsFake(() => {
    issued += 1;
    return {
      authorizationData: [
        { authorizationToken: token(`password-${issued}`), expiresAt: new Date(clock.now + 12 * HOUR), proxyEndpoint: `https://${HOST}` },
      ],
    };
  });
}

/** The engine as far as a pull goes: records each pull's credentials, refuses those `refuse` names. */
function fakeDocker(refuse: (auth: RegistryCredentials | undefined) => string | undefined = () => undefined) {
  const pulls: Array<{ image: string; auth: RegistryCredentials | undefined }> = [];
  const docker = {
    async pull(image: string, options: { authconfig?: RegistryCredentials }) {
      pulls.push({ image, auth: options.authconfig });
      const failure = refuse(options.authconfig);
      return Readable.from([JSON.stringify(failure === undefined ? { status: 'Downloaded newer image' } : { error: failure }) + '\n']);
    },
    // A Docker without the image yet, so runJobAttempt pulls it.
    getImage: () => ({ inspect: async () => Promise.reject(Object.assign(new Error('No such image'), { statusCode: 404 })) }),
    modem: {
      followProgress(stream: Readable, done: (error: Error | null, events: Array<{ error?: string }>) => void) {
        const events: Array<{ error?: string }> = [];
        stream.on('data', (chunk: Buffer | string) => events.push(JSON.parse(String(chunk)) as { error?: string }));
        stream.on('end', () => done(null, events));
      },
    },
  };
  return { docker: docker as unknown as Docker, pulls };
}

describe('ECR login for pulls', () => {
  beforeEach(() => ecr.reset());

  it('asks for a token in the registry host region and decodes AWS:<password>', async () => {
    answerTokens({ now: Date.now() });
    const source = new EcrTokenSource('123456789012.dkr.ecr.ap-southeast-2.amazonaws.com');
    expect(await source.credentials()).toEqual({
      username: 'AWS',
      password: 'password-1',
      serveraddress: '123456789012.dkr.ecr.ap-southeast-2.amazonaws.com',
    });
    const call = ecr.commandCalls(GetAuthorizationTokenCommand)[0]!;
    expect(call.args[0].input).toEqual({});
    expect(await (call.thisValue as ECRClient).config.region()).toBe('ap-southeast-2');
  });

  it('makes one token request for two pulls, passing it to the engine as authconfig', async () => {
    answerTokens({ now: Date.now() });
    const { docker, pulls } = fakeDocker();
    const pull = imagePuller(ecrAuthSources());
    await pull(docker, IMAGE);
    await pull(docker, `${HOST}/katapult/env:def`);
    expect(ecr.commandCalls(GetAuthorizationTokenCommand)).toHaveLength(1);
    expect(pulls.map((p) => p.auth)).toEqual([
      { username: 'AWS', password: 'password-1', serveraddress: HOST },
      { username: 'AWS', password: 'password-1', serveraddress: HOST },
    ]);
  });

  it('shares one request between jobs starting together', async () => {
    answerTokens({ now: Date.now() });
    const source = new EcrTokenSource(HOST);
    const [a, b] = await Promise.all([source.credentials(), source.credentials()]);
    expect(a).toEqual(b);
    expect(ecr.commandCalls(GetAuthorizationTokenCommand)).toHaveLength(1);
  });

  it('renews the token a few minutes before it expires', async () => {
    const clock = { now: Date.UTC(2025, 0, 1) };
    answerTokens(clock);
    const source = new EcrTokenSource(HOST, { now: () => clock.now, renewBeforeMs: 5 * 60_000 });
    expect((await source.credentials()).password).toBe('password-1');
    clock.now += 12 * HOUR - 6 * 60_000;
    expect((await source.credentials()).password).toBe('password-1');
    clock.now += 2 * 60_000;
    expect((await source.credentials()).password).toBe('password-2');
    expect(ecr.commandCalls(GetAuthorizationTokenCommand)).toHaveLength(2);
  });

  it('gets a fresh token once when the registry refuses the cached one, and pulls again', async () => {
    answerTokens({ now: Date.now() });
    const { docker, pulls } = fakeDocker((auth) =>
      auth?.password === 'password-1'
        ? 'Head "https://…/manifests/abc": denied: Your authorization token has expired. Reauthenticate and try again.'
        : undefined,
    );
    await imagePuller(ecrAuthSources())(docker, IMAGE);
    expect(pulls.map((p) => p.auth?.password)).toEqual(['password-1', 'password-2']);
    expect(ecr.commandCalls(GetAuthorizationTokenCommand)).toHaveLength(2);
  });

  it('gives up after one refresh, naming the image and the registry answer', async () => {
    answerTokens({ now: Date.now() });
    const { docker, pulls } = fakeDocker(() => 'Head "https://…/manifests/abc": no basic auth credentials');
    await expect(imagePuller(ecrAuthSources())(docker, IMAGE)).rejects.toThrow(
      `KP_PULL_AUTH: ${HOST} refused the credentials for ${IMAGE}, even fresh ones: Head "https://…/manifests/abc": no basic auth credentials`,
    );
    expect(pulls).toHaveLength(2);
  });

  it('does not retry a failure that is not about credentials', async () => {
    answerTokens({ now: Date.now() });
    const { docker, pulls } = fakeDocker(() => 'manifest for x not found: manifest unknown: Requested image not found');
    await expect(imagePuller(ecrAuthSources())(docker, IMAGE)).rejects.toThrow(
      `KP_PULL_FAILED: pulling ${IMAGE} failed: manifest for x not found: manifest unknown: Requested image not found`,
    );
    expect(pulls).toHaveLength(1);
    expect(ecr.commandCalls(GetAuthorizationTokenCommand)).toHaveLength(1);
  });

  it('pulls from any other registry without credentials or token', async () => {
    const { docker, pulls } = fakeDocker();
    await imagePuller(ecrAuthSources())(docker, '127.0.0.1:5000/katapult/env:abc');
    await imagePuller(ecrAuthSources())(docker, 'debian:bookworm');
    expect(pulls).toEqual([
      { image: '127.0.0.1:5000/katapult/env:abc', auth: undefined },
      { image: 'debian:bookworm', auth: undefined },
    ]);
    expect(ecr.calls()).toHaveLength(0);
  });

  it('reads the registry host of an image reference as Docker does', () => {
    expect(registryHost(IMAGE)).toBe(HOST);
    expect(registryHost('127.0.0.1:5000/katapult/env:abc')).toBe('127.0.0.1:5000');
    expect(registryHost('localhost/x:1')).toBe('localhost');
    expect(registryHost('library/debian:bookworm')).toBeUndefined();
    expect(registryHost('debian')).toBeUndefined();
  });

  it("reports a token refused to the instance role as the job's start failure, in one line", async () => {
    const denied = Object.assign(
      new Error(
        'User: arn:aws:sts::123456789012:assumed-role/katapult-agent/i-0abc is not authorized to perform: ecr:GetAuthorizationToken',
      ),
      {
        name: 'AccessDeniedException',
      },
    );
    ecr.on(GetAuthorizationTokenCommand).rejects(denied);
    const image = '123456789012.dkr.ecr.us-east-1.amazonaws.com/katapult/env:denied';
    const events: string[] = [];
    const sink: JobSink = {
      report: async (type) => void events.push(type),
      exited: async (code) => void events.push(`exited ${code}`),
      startFailed: async (message) => void events.push(`start_failed ${message}`),
      lost: async () => void events.push('lost'),
      logLine: () => undefined,
      logPiece: () => true,
      whenLogWritable: async () => undefined,
      endOfLog: async () => undefined,
    };
    const assignment: Assignment = {
      v: 1,
      runId: 'r-test',
      jobId: 'j1',
      attempt: 1,
      image,
      runCommand: 'true',
      cpus: 1,
      memoryBytes: null,
      network: 'bridge',
      files: [],
      outputFiles: [],
    };
    const files = {} as unknown as JobFileStore; // not reached: the attempt ends at the pull
    // runJobAttempt pulls with the agent's own puller (ECR login from the default credential chain).
    await runJobAttempt(fakeDocker().docker, assignment, sink, { agentId: 'a', stackLabel: 's', files });
    expect(events).toEqual([
      'pulling',
      `start_failed KP_PULL_AUTH: cannot get an ECR token for ${image}: AccessDeniedException: User: arn:aws:sts::123456789012:assumed-role/katapult-agent/i-0abc is not authorized to perform: ecr:GetAuthorizationToken`,
    ]);
  });
});
