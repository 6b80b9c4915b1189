/** One line of a Docker progress stream (pull, push, build, import). */
export interface DockerStreamEvent {
  status?: string;
  stream?: string;
  progress?: string;
  progressDetail?: { current?: number; total?: number };
  id?: string;
  error?: string;
  errorDetail?: { message?: string };
  aux?: { ID?: string; Digest?: string; Tag?: string; Size?: number };
}

/**
 * Reads newline-delimited JSON from a Docker stream until it ends.
 * Resolves with every event; errors reported inside the stream are left to the caller,
 * because the engine answers 200 and only then says the operation failed.
 */
export function followJsonStream(
  stream: NodeJS.ReadableStream,
  onEvent?: (event: DockerStreamEvent) => void,
): Promise<DockerStreamEvent[]> {
  return new Promise((resolve, reject) => {
    const events: DockerStreamEvent[] = [];
    let buffer = '';
    const handleLine = (line: string): void => {
      const text = line.trim();
      if (text.length === 0) return;
      let event: DockerStreamEvent;
      try {
        event = JSON.parse(text) as DockerStreamEvent;
      } catch {
        event = { stream: text };
      }
      events.push(event);
      onEvent?.(event);
    };
    stream.on('data', (chunk: Buffer | string) => {
      buffer += chunk.toString();
      let newline: number;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        handleLine(buffer.slice(0, newline));
        buffer = buffer.slice(newline + 1);
      }
    });
    stream.once('error', reject);
    const finish = (): void => {
      handleLine(buffer);
      buffer = '';
      resolve(events);
    };
    stream.once('end', finish);
    stream.once('close', finish);
  });
}

/** The error message an event carries, if it reports a failure. */
export function streamError(event: DockerStreamEvent): string | undefined {
  return event.errorDetail?.message ?? event.error;
}
