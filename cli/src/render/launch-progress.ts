import { appendFileSync, mkdirSync } from 'node:fs';
import type { LaunchEvent, OnLaunchEvent } from '@katapult/launcher/launch/launch-events';
import type { FollowEvent, OnFollowEvent } from '@katapult/launcher/follow/follow-events';
import { launchEventLine } from '@katapult/launcher/lines/launch-lines';
import { followEventLine } from '@katapult/launcher/lines/follow-lines';
import { StateFolder } from '@katapult/launcher/state/state-folder';
import { LiveBuildDisplay } from './build-progress.js';
import { StepProgress, type ProgressMode } from './step-progress.js';
import { runProgressBar } from './run-view.js';

/** A progress line printer: `[ 12.3s] message`, timed from its creation. */
export function stepLogger(log: (line: string) => void): (message: string) => void {
  const started = Date.now();
  return (message) => log(`[${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s] ${message}`);
}

/** Launch events as timed lines (`run`): image chatter left out, every step a line. */
export function launchLines(step: (line: string) => void): OnLaunchEvent {
  return (event) => {
    const line = launchEventLine(event);
    if (line !== undefined) step(line);
  };
}

/**
 * How `build` and `launch` show their progress: every line with --verbose (or KATAPULT_VERBOSE=1), one live line
 * per step on a terminal, one line per step otherwise; the image tools' full output goes to <state>/builds/images.log.
 */
export function stepProgress(options: { json: boolean; verbose: boolean; log: (line: string) => void; state?: StateFolder }): StepProgress {
  const verbose = options.verbose || process.env['KATAPULT_VERBOSE'] === '1';
  const mode: ProgressMode = verbose ? 'verbose' : process.stdout.isTTY && !options.json ? 'live' : 'lines';
  const state = options.state ?? StateFolder.fromEnv();
  const path = state.imagesLog;
  let opened = false;
  return new StepProgress({
    mode,
    write: mode === 'live' ? (text) => process.stdout.write(text) : (text) => options.log(text.replace(/\n$/, '')),
    log: {
      path,
      write: (line) => {
        if (!opened) {
          mkdirSync(state.buildsFolder, { recursive: true });
          appendFileSync(path, `--- ${new Date().toISOString()} katapult ${process.argv.slice(2).join(' ')}\n`);
          opened = true;
        }
        appendFileSync(path, `${line}\n`);
      },
    },
    columns: () => process.stdout.columns || 80,
  });
}

/** Launch events on a StepProgress: image steps to its step display, everything else a line of its own. */
export function onStepProgress(progress: StepProgress): OnLaunchEvent {
  return (event: LaunchEvent) => (event.type === 'image' ? progress.event(event.progress) : progress.line(launchEventLine(event)!));
}

/**
 * Follow events on a StepProgress: on a terminal the counts are one line, redrawn, with a bar (summaryInPlace);
 * in a pipe each summary is a line of its own.
 */
export function onFollowProgress(progress: StepProgress, summaryInPlace: boolean): OnFollowEvent {
  return (event: FollowEvent) => {
    if (event.type === 'summary' && summaryInPlace) progress.status(followEventLine(event), runProgressBar(event.run));
    else progress.line(followEventLine(event));
  };
}

/** A live per-environment build table when a person watches a terminal; undefined for pipes and --json. */
export function liveBuildDisplay(json: boolean): LiveBuildDisplay | undefined {
  return process.stdout.isTTY && !json ? new LiveBuildDisplay(process.stdout) : undefined;
}
