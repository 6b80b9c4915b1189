/**
 * The unprivileged user Katapult's environment images create for jobs. The image says so with a label, which
 * the agent reads before it creates a job's container: an image without it (a plain base image) keeps its own
 * user, so nothing that works there breaks.
 */
export const JOB_USER = { name: 'katapult', uid: 1000, gid: 1000, home: '/home/katapult' } as const;

/** Image label naming the user, as `uid:gid`, a job in that image runs as. */
export const JOB_USER_LABEL = 'katapult.user';

export interface JobUserIds {
  uid: number;
  gid: number;
}

export function formatJobUser(user: JobUserIds): string {
  return `${user.uid}:${user.gid}`;
}

/** `1000:1000` → its ids; anything else (a name, root, a missing gid) → null, since it cannot be trusted. */
export function parseJobUser(label: string): JobUserIds | null {
  const match = /^(\d{1,9}):(\d{1,9})$/.exec(label.trim());
  if (!match) return null;
  const uid = Number(match[1]);
  const gid = Number(match[2]);
  return uid === 0 ? null : { uid, gid };
}
