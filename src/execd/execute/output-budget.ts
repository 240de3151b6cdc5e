/**
 * How much stdout + stderr one call may return. Code that prints without end would otherwise
 * grow the server's memory (JSON answers are built in memory; a slow NDJSON reader queues
 * events) until the sandbox runs out. Past the limit the rest of the call's output is
 * counted and dropped; the call itself keeps running to its end or its timeout.
 */
export class OutputBudget {
  private used = 0;
  private dropped = 0;

  constructor(readonly limitBytes: number) {}

  get truncated(): boolean {
    return this.dropped > 0;
  }

  /** For answers: present only when something was dropped. */
  get summary(): { limitBytes: number; droppedBytes: number } | undefined {
    return this.truncated ? { limitBytes: this.limitBytes, droppedBytes: this.dropped } : undefined;
  }

  /**
   * The part of `text` that still fits. The first time output is cut, the kept part ends
   * with a marker saying so, so a reader of the text alone knows it is incomplete.
   */
  admit(text: string): string {
    const size = Buffer.byteLength(text);
    if (this.dropped > 0) {
      this.dropped += size;
      return "";
    }
    if (this.used + size <= this.limitBytes) {
      this.used += size;
      return text;
    }
    const room = this.limitBytes - this.used;
    // Cutting inside a multi-byte character leaves a replacement character; drop it.
    const head = Buffer.from(text, "utf8")
      .subarray(0, room)
      .toString("utf8")
      .replace(/\uFFFD$/, "");
    this.used = this.limitBytes;
    this.dropped = size - Buffer.byteLength(head);
    return `${head}${truncationMarker(this.limitBytes)}`;
  }
}

export function truncationMarker(limitBytes: number): string {
  return `\n[execd: output truncated: this call printed more than ${limitBytes} bytes (--max-output-bytes); the rest was dropped]\n`;
}
