/**
 * Keeps only the last `limit` items of each key (a job), and gives them back in the order they were pushed,
 * so `--tail` holds at most N lines per job in memory however long the log is.
 */
export class TailBuffer<T> {
  private readonly kept = new Map<string, { order: number; item: T }[]>();
  private pushed = 0;

  constructor(private readonly limit: number) {}

  push(key: string, item: T): void {
    if (this.limit <= 0) return;
    let items = this.kept.get(key);
    if (!items) this.kept.set(key, (items = []));
    items.push({ order: this.pushed++, item });
    if (items.length > this.limit) items.shift();
  }

  /** The kept items in push order; the buffer is empty afterwards. */
  drain(): T[] {
    const all = [...this.kept.values()].flat().sort((a, b) => a.order - b.order);
    this.kept.clear();
    return all.map((entry) => entry.item);
  }
}
