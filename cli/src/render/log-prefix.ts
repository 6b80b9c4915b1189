// Foreground colours that read on dark and light terminals; red is left out so no job looks like an error.
const PALETTE = [36, 33, 32, 35, 34, 96, 93, 92, 95, 94] as const;

/** Colour only for a person at a terminal, and never when NO_COLOR is set to anything (no-color.org). */
export function shouldColour(output: { isTTY?: boolean }, env: NodeJS.ProcessEnv): boolean {
  const noColor = env['NO_COLOR'];
  return output.isTTY === true && (noColor === undefined || noColor === '');
}

/**
 * Formats a line of the merged log of a run as `job | line`, the job name padded to the longest of the run's
 * job names so the lines start in one column; each job keeps its colour (by its place in the run) when asked.
 */
export function logLinePrefixer(jobIds: readonly string[], colour: boolean): (job: string, line: string) => string {
  const width = Math.max(0, ...jobIds.map((id) => id.length));
  const place = new Map(jobIds.map((id, index) => [id, index]));
  return (job, line) => {
    const label = `${job.padEnd(width)} |`;
    if (!colour) return `${label} ${line}`;
    const code = PALETTE[(place.get(job) ?? jobIds.length) % PALETTE.length];
    return `\x1b[${code}m${label}\x1b[0m ${line}`;
  };
}
