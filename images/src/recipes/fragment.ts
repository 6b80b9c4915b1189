export const STEP_KINDS = ['apt', 'conda', 'pip', 'julia', 'command', 'user'] as const;

export type StepKind = (typeof STEP_KINDS)[number];

/** One step's Dockerfile lines, and what it does in a few words for progress and error messages. */
export interface Fragment {
  description: string;
  lines: string[];
}
