/**
 * Lines written in blocks of up to `maxChars`: a log of a million lines is a few hundred writes, not a
 * million (one write a line cost more than reading the log). flush() before anything else is written.
 */
export class LineWriter {
  private pending: string[] = [];
  private chars = 0;

  constructor(
    private readonly write: (text: string) => void,
    private readonly maxChars = 64 * 1024,
  ) {}

  line(text: string): void {
    this.pending.push(text);
    this.chars += text.length + 1;
    if (this.chars >= this.maxChars) this.flush();
  }

  flush(): void {
    if (this.pending.length === 0) return;
    const text = `${this.pending.join('\n')}\n`;
    this.pending = [];
    this.chars = 0;
    this.write(text);
  }
}
