/**
 * Jobs that run after others (`after`, and `inputs_from`, which implies it), as AWS Batch's dependsOn: a job is
 * `blocked` until every job it names is `done`, then `pending`; when one of them fails, is aborted or is itself
 * skipped, it ends `skipped`. Names are the config's job names: a repeated job's name stands for all its copies.
 */
export interface DependencyNode {
  name: string;
  after: readonly string[];
}

export interface DependencyIssue {
  /** Index of the job in the config's `jobs`. */
  job: number;
  /** Index in its `after` list, for an unknown name; absent for a cycle (the whole list is at fault). */
  position?: number;
  message: string;
}

/** Unknown names, a job naming itself, and cycles (each reported once, on its first job in config order). */
export function dependencyIssues(
  jobs: readonly DependencyNode[],
  suggest: (name: string, among: string[]) => string | undefined = () => undefined,
): DependencyIssue[] {
  const issues: DependencyIssue[] = [];
  const index = new Map(jobs.map((job, i) => [job.name, i]));
  const names = jobs.map((job) => job.name);
  jobs.forEach((job, i) => {
    job.after.forEach((name, position) => {
      if (name === job.name) issues.push({ job: i, position, message: `"${name}" is this job itself` });
      else if (!index.has(name)) {
        const close = suggest(name, names);
        issues.push({ job: i, position, message: `no job is named "${name}"${close ? `; did you mean ${close}?` : ''}` });
      }
    });
  });
  // Depth-first, in config order: a back edge closes a cycle, reported as the path from its first job.
  const state = new Map<number, 'visiting' | 'done'>();
  const reported = new Set<string>();
  const visit = (i: number, path: number[]) => {
    state.set(i, 'visiting');
    for (const name of new Set(jobs[i]!.after)) {
      const next = index.get(name);
      if (next === undefined || next === i) continue;
      if (state.get(next) === 'visiting') {
        const cycle = path.slice(path.indexOf(next));
        const first = Math.min(...cycle);
        const rotated = [...cycle.slice(cycle.indexOf(first)), ...cycle.slice(0, cycle.indexOf(first))];
        const key = [...rotated].sort().join(',');
        if (!reported.has(key)) {
          reported.add(key);
          issues.push({
            job: first,
            message: `${[...rotated, first].map((j) => `"${jobs[j]!.name}"`).join(' -> ')} is a cycle: none of them could ever start`,
          });
        }
      } else if (state.get(next) === undefined) visit(next, [...path, next]);
    }
    state.set(i, 'done');
  };
  jobs.forEach((_, i) => {
    if (state.get(i) === undefined) visit(i, [i]);
  });
  return issues;
}

/** A job of a run as the dependency rules see it: its id (`<name>-<k>` for copies), state, and the ids it waits for. */
export interface DependentJob {
  id: string;
  state: string;
  after?: readonly string[];
}

export interface DependencyDecisions {
  /** Blocked jobs whose every dependency is done: they become pending. */
  release: string[];
  /** Blocked jobs one of whose dependencies ended without being done, and why. */
  skip: { id: string; message: string }[];
}

const NOT_DONE = new Set(['failed', 'aborted', 'skipped']);

export function dependencyDecisions(jobs: readonly DependentJob[]): DependencyDecisions {
  const byId = new Map(jobs.map((job) => [job.id, job]));
  const decisions: DependencyDecisions = { release: [], skip: [] };
  for (const job of jobs) {
    if (job.state !== 'blocked') continue;
    const after = job.after ?? [];
    const ended = after.map((id) => byId.get(id)).find((dependency) => dependency && NOT_DONE.has(dependency.state));
    if (ended) decisions.skip.push({ id: job.id, message: `${ended.id} ${ended.state}, and this job runs after it` });
    else if (after.every((id) => byId.get(id)?.state === 'done')) decisions.release.push(job.id);
  }
  return decisions;
}
