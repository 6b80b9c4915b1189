import type Docker from 'dockerode';
import { ImageError } from './errors.js';
import { followJsonStream, streamError, type DockerStreamEvent } from './json-stream.js';
import type { OnProgress } from './progress.js';

export interface BuildRequest {
  /** A tar archive holding the Dockerfile and everything it copies. */
  context: NodeJS.ReadableStream;
  tag: string;
  dockerfile?: string;
  buildargs?: Record<string, string>;
  /** 'host' lets build steps reach servers on this machine's 127.0.0.1 (a local package index, say). */
  networkmode?: string;
  labels?: Record<string, string>;
  /** Ignore Docker's layer cache (benchmarks of a full rebuild). */
  noCache?: boolean;
  onProgress?: OnProgress;
}

/**
 * The build's lines. Docker cuts a step's output anywhere, even inside a line (apt's "E" in one event, ": Unable to
 * locate package …" in the next), so the text of `stream` events is joined across events and cut at newlines;
 * status events (pull progress) are whole lines.
 */
class BuildLines {
  private unfinished = '';

  of(event: DockerStreamEvent): string[] {
    if (event.stream === undefined) return event.status !== undefined ? clean([`${event.status} ${event.progress ?? ''}`]) : [];
    const parts = (this.unfinished + event.stream).split('\n');
    this.unfinished = parts.pop() ?? '';
    return clean(parts);
  }

  /** What the stream left without a newline at its end. */
  rest(): string[] {
    const last = clean([this.unfinished]);
    this.unfinished = '';
    return last;
  }
}

const clean = (lines: string[]) => lines.map((line) => line.trimEnd()).filter((line) => line.length > 0);

/** A failed `docker build`: Docker's one-line reason, and the last lines the build printed (the command's errors). */
export class ImageBuildError extends ImageError {
  constructor(
    message: string,
    readonly reason: string,
    readonly output: readonly string[],
  ) {
    super('KP_IMAGE_BUILD_FAILED', message);
  }
}

/** Runs `docker build` on a tar context; throws with the end of the build log if any step fails. */
export async function buildImage(docker: Docker, request: BuildRequest): Promise<string> {
  const log: string[] = [];
  let failure: string | undefined;
  const stream = await docker.buildImage(request.context, {
    t: request.tag,
    dockerfile: request.dockerfile ?? 'Dockerfile',
    buildargs: request.buildargs ?? {},
    rm: true,
    forcerm: true,
    ...(request.networkmode === undefined ? {} : { networkmode: request.networkmode }),
    ...(request.labels === undefined ? {} : { labels: request.labels }),
    ...(request.noCache ? { nocache: true } : {}),
  });
  const lines = new BuildLines();
  const take = (taken: string[]) => {
    for (const line of taken) {
      log.push(line);
      request.onProgress?.({ step: 'build', message: line, detail: true });
    }
    if (log.length > 30) log.splice(0, log.length - 30);
  };
  await followJsonStream(stream, (event) => {
    take(lines.of(event));
    failure ??= streamError(event);
  });
  take(lines.rest());
  if (failure !== undefined) {
    throw new ImageBuildError(
      `building ${request.tag} failed: ${failure.trim()}; fix that step and rebuild. Last build output:\n${log.slice(-15).join('\n')}`,
      failure.trim(),
      log,
    );
  }
  try {
    return (await docker.getImage(request.tag).inspect()).Id;
  } catch (error) {
    throw new ImageError(
      'KP_IMAGE_BUILD_FAILED',
      `the build of ${request.tag} ended without an image; rerun it and read its log:\n${log.slice(-15).join('\n')}`,
      { cause: error },
    );
  }
}
