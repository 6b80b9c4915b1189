import { dirname } from 'node:path';
import {
  buildEnvironments,
  findRun,
  launchEventLine,
  openLaunchContext,
  readConfigFile,
  resolveRunFiles,
  resolveSecrets,
  stackContext,
  StateFolder,
  stopStack,
  submitLaunch,
  type BuildContext,
  type DownReport,
  type OnLaunchEvent,
} from '@katapult/launcher';
import type { RunSpec, RunView } from '@katapult/core';
import { connectDocker, type EnvironmentImage } from '@katapult/images';
import { RunHandle } from './run-handle.js';

export interface OpenOptions {
  /** The stack's state folder; default: $KATAPULT_HOME, else ~/.katapult (the CLI's, so both see the same runs). */
  home?: string;
  /** Receives the progress lines `katapult launch` prints: servers starting, build steps, job state changes. */
  onProgress?: (line: string) => void;
}

export interface RunOptions {
  /** Return only once every job has ended. */
  wait?: boolean;
  /** A file of NAME=value lines with the values of the config's `secrets`, as `launch --secrets-file`; else they come from process.env. */
  secretsFile?: string;
}

/**
 * One config file on the local stack, driven from a script: start, build, run, and the runs' states, logs and
 * outputs. Servers and instances are started when first needed, as `katapult launch` does. Errors are
 * KatapultError, with the CLI's codes.
 */
export class Katapult {
  private constructor(
    readonly configFile: string,
    readonly spec: RunSpec,
    private readonly state: StateFolder,
    private readonly onProgress: (line: string) => void,
  ) {}

  /** The stack's state folder (OpenOptions.home, else $KATAPULT_HOME, else ~/.katapult). */
  get home(): string {
    return this.state.root;
  }

  /** Reads and checks the config and the files its jobs name; nothing starts yet. */
  static async open(configFile: string, options: OpenOptions = {}): Promise<Katapult> {
    const spec = readConfigFile(configFile);
    await resolveRunFiles(dirname(configFile), spec);
    const state = StateFolder.fromEnv(options.home === undefined ? process.env : { KATAPULT_HOME: options.home });
    return new Katapult(configFile, spec, state, options.onProgress ?? (() => undefined));
  }

  /** Checks Docker, starts NATS and the registry if they are not running, and gets the base image ready. */
  async start(): Promise<void> {
    await this.stackReady();
  }

  /** One image per environment, pushed to the registry; those already there are reused, not rebuilt. */
  async build(): Promise<EnvironmentImage[]> {
    return buildEnvironments(await this.stackReady(), this.spec, this.configFile);
  }

  /** Builds what is missing, submits the config's jobs and starts instances as needed, as `katapult launch` does. */
  async run(options: RunOptions = {}): Promise<RunHandle> {
    // Before anything is built: a secret without a value is refused at once, as launch does.
    const secrets = resolveSecrets(this.spec, process.env, options.secretsFile);
    const context = await this.stackReady();
    const environments = await buildEnvironments(context, this.spec, this.configFile);
    // Resolved again: files may have changed since open.
    const projectFiles = await resolveRunFiles(dirname(this.configFile), this.spec);
    const submitted = await submitLaunch(
      context,
      { spec: this.spec, configFile: this.configFile, environments, projectFiles, secrets },
      this.launchEvents,
    );
    const run = new RunHandle(submitted.runId, submitted, this.onProgress);
    if (options.wait) await run.wait();
    return run;
  }

  /** A run already submitted, by a script or by `katapult launch`: the one named, else the latest. */
  async attach(runId?: string): Promise<RunHandle> {
    const stack = stackContext(this.state);
    return new RunHandle((await findRun(stack.client, runId)).id, stack, this.onProgress);
  }

  /** The run named, else the latest, as `katapult status --json` shows it. */
  async status(runId?: string): Promise<RunView> {
    return findRun(stackContext(this.state).client, runId);
  }

  /** Every run the stack knows, oldest first. */
  async runs(): Promise<RunView[]> {
    return stackContext(this.state).client.listRuns();
  }

  /** Removes the stack's agent and job containers and stops its servers, as `katapult down` does. */
  async down(): Promise<DownReport> {
    return stopStack(this.state, connectDocker());
  }

  /** Opened for each call (cheap once up), so a stack stopped or restarted meanwhile is started again, not used stale. */
  private stackReady(): Promise<BuildContext> {
    return openLaunchContext(this.spec, this.launchEvents, this.state);
  }

  /** The lines `katapult launch` prints for them, without a terminal's live display. */
  private readonly launchEvents: OnLaunchEvent = (event) => {
    const line = launchEventLine(event);
    if (line !== undefined) this.onProgress(line);
  };
}
