import { StringDecoder } from "node:string_decoder";

/**
 * Splits one interpreter output stream (stdout or stderr) at a per-call sentinel.
 *
 * The driver writes the sentinel after a call's output; everything before it belongs to the
 * call. Bytes that could be the start of a sentinel split across two chunks are held back
 * until the next chunk shows whether they are. Text is decoded as UTF-8 with a stateful
 * decoder so multi-byte characters cut by a chunk boundary survive.
 */
export class SentinelSplitter {
  private pending: Buffer = Buffer.alloc(0);
  private sentinel: Buffer | null = null;
  private readonly decoder = new StringDecoder("utf8");

  constructor(
    private readonly onText: (text: string) => void,
    private readonly onSentinel: () => void,
  ) {}

  /** Starts watching for a new call's sentinel. */
  expect(sentinel: string): void {
    this.sentinel = Buffer.from(sentinel, "utf8");
  }

  /** Stops watching (call ended without its sentinel, e.g. the interpreter died). */
  flush(): void {
    this.emit(this.pending);
    this.pending = Buffer.alloc(0);
    const rest = this.decoder.end();
    if (rest) this.onText(rest);
    this.sentinel = null;
  }

  push(chunk: Buffer): void {
    let data = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = Buffer.alloc(0);
    const sentinel = this.sentinel;
    if (!sentinel) {
      this.emit(data);
      return;
    }
    const at = data.indexOf(sentinel);
    if (at >= 0) {
      this.emit(data.subarray(0, at));
      const rest = this.decoder.end();
      if (rest) this.onText(rest);
      this.sentinel = null;
      this.onSentinel();
      const after = data.subarray(at + sentinel.length);
      if (after.length) this.emit(after);
      return;
    }
    const keep = partialSuffix(data, sentinel);
    if (keep > 0) {
      this.pending = Buffer.from(data.subarray(data.length - keep));
      data = data.subarray(0, data.length - keep);
    }
    this.emit(data);
  }

  private emit(data: Buffer): void {
    if (data.length === 0) return;
    const text = this.decoder.write(data);
    if (text) this.onText(text);
  }
}

/** Length of the longest suffix of `data` that is a proper prefix of `sentinel`. */
function partialSuffix(data: Buffer, sentinel: Buffer): number {
  const max = Math.min(data.length, sentinel.length - 1);
  for (let length = max; length > 0; length--) {
    if (data.subarray(data.length - length).equals(sentinel.subarray(0, length))) return length;
  }
  return 0;
}
