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
 * Serializes work per key while different keys run concurrently, with at most `limit` items held at once. Items
 * that arrive for a key before its work starts, or while it runs, go to one call together, in the order they
 * came: reports about one job that come in a burst (running, then exited) cost one write, not one each.
 */
export class KeyedBatcher<T> {
  private readonly queued = new Map<string, T[]>();
  private readonly busy = new Set<string>();
  private held = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly limit: number,
    private readonly work: (key: string, items: T[]) => Promise<void>,
  ) {}

  /** Resolves once the item is queued (there was room); its work runs after the key's earlier work. */
  async push(key: string, item: T): Promise<void> {
    while (this.held >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.held++;
    const items = this.queued.get(key);
    if (items) items.push(item);
    else this.queued.set(key, [item]);
    if (this.busy.has(key)) return;
    this.busy.add(key);
    // Started on the next turn of the event loop, so the items of one delivered batch are queued first.
    setImmediate(() => void this.drain(key));
  }

  private async drain(key: string): Promise<void> {
    for (let items = this.take(key); items; items = this.take(key)) {
      await this.work(key, items).catch(() => undefined);
      this.held -= items.length;
      for (let freed = 0; freed < items.length; freed++) this.waiting.shift()?.();
    }
    this.busy.delete(key);
  }

  private take(key: string): T[] | undefined {
    const items = this.queued.get(key);
    this.queued.delete(key);
    return items;
  }
}
