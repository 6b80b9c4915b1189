/**
 * The Docker name of a job attempt's container, `kp-<run>-<job>-<attempt>`, so `docker ps` says what runs.
 * Docker accepts [a-zA-Z0-9][a-zA-Z0-9_.-]*; anything else becomes `-`.
 */
export function jobContainerName(runId: string, jobId: string, attempt: number): string {
  const name = `kp-${runId}-${jobId}-${attempt}`.replace(/[^a-zA-Z0-9_.-]+/g, '-');
  // Kept well under the 255 bytes a name may take, with the attempt (what tells two containers apart) at the end.
  return name.length <= 200 ? name : `${name.slice(0, 200 - String(attempt).length - 1)}-${attempt}`;
}
