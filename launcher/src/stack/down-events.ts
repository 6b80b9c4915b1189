import type { DownItem } from '@katapult/aws';

/** A project's ECR repository, removed only with `--images`. */
export interface RepositoryItem {
  kind: 'ECR repository';
  id: string;
}

/** Something tagged with the project that `down` leaves in place, and why. */
export interface KeptItem extends RepositoryItem {
  reason: string;
}

/** What `down` reports as it goes, for a front-end to say: the CLI prints each as a line (lines/down-lines.ts). */
export type DownEvent =
  | { type: 'container-removed'; name: string }
  | { type: 'process-stopped'; name: string }
  /** The local stack had no container and no server running. */
  | { type: 'nothing-running' }
  | { type: 'image-tag-removed'; tag: string }
  /** `--images` found no local tag of an image pulled from this stack's registry. */
  | { type: 'no-image-tag' }
  /** `--dry-run`: the local stack is left running. */
  | { type: 'would-stop-stack' }
  /** An AWS resource of the project removed, or with `--dry-run` one that would be (an ECR repository with its images). */
  | { type: 'aws-item'; action: 'removed' | 'would-remove'; item: DownItem | RepositoryItem }
  | { type: 'aws-kept'; item: KeptItem }
  | { type: 'aws-nothing-tagged'; project: string };

export type OnDownEvent = (event: DownEvent) => void;
