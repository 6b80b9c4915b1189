/**
 * Runs `work` on every item with at most `limit` calls in flight, and waits for all of them: how one pass's KV
 * writes and publishes go out (pipelined on the one NATS connection, acks awaited together) instead of one
 * awaited round trip after another. Results keep the items' order; the first failure is thrown after all settle.
 */
export async function inParallel<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      try {
        results[index] = await work(items[index]!);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure) throw failure.error;
  return results;
}

/**
 * Serializes work per key while different keys run concurrently, at most `limit` at once: reports about one job
 * are applied in the order they came, reports about different jobs side by side.
 */
export class KeyedQueue {
  private readonly tails = new Map<string, Promise<void>>();
  private inFlight = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  /** Resolves once the work is queued (there was room); the work itself runs after the key's earlier work. */
  async push(key: string, work: () => Promise<void>): Promise<void> {
    while (this.inFlight >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.inFlight++;
    const tail = (this.tails.get(key) ?? Promise.resolve())
      .then(work)
      .catch(() => undefined)
      .finally(() => {
        this.inFlight--;
        if (this.tails.get(key) === tail) this.tails.delete(key);
        this.waiting.shift()?.();
      });
    this.tails.set(key, tail);
  }
}
