export { Katapult, type OpenOptions, type RunOptions } from './katapult.js';
export { RunHandle, type LogLine, type WaitOptions } from './run-handle.js';
export type { WaitUntil } from './wait-until.js';
export { ExitCode, KatapultError, type CancelRunResponse, type JobState, type JobView, type RunView } from '@katapult/core';
export type { EnvironmentImage } from '@katapult/images';
export type { DownReport, FetchedJob } from '@katapult/launcher';
