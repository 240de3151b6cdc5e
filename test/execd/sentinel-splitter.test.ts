import { describe, expect, it } from "vitest";
import { SentinelSplitter } from "../../src/execd/kernels/sentinel-splitter.js";

function collect(): { texts: string[]; events: string[]; splitter: SentinelSplitter } {
  const texts: string[] = [];
  const events: string[] = [];
  const splitter = new SentinelSplitter(
    (text) => {
      texts.push(text);
      events.push(`text:${text}`);
    },
    () => events.push("sentinel"),
  );
  return { texts, events, splitter };
}

describe("SentinelSplitter", () => {
  const sentinel = "\u001eEXECD-abc\u001e";

  it("finds a sentinel split across chunks at every possible position", () => {
    const stream = Buffer.from(`hello world${sentinel}after`);
    for (let cut = 1; cut < stream.length; cut++) {
      const { texts, events, splitter } = collect();
      splitter.expect(sentinel);
      splitter.push(stream.subarray(0, cut));
      splitter.push(stream.subarray(cut));
      expect(
        events.filter((e) => e === "sentinel"),
        `cut ${cut}`,
      ).toHaveLength(1);
      const sentinelAt = events.indexOf("sentinel");
      expect(texts.join(""), `cut ${cut}`).toBe("hello worldafter");
      expect(
        events
          .slice(0, sentinelAt)
          .map((e) => e.slice(5))
          .join(""),
        `cut ${cut}`,
      ).toBe("hello world");
    }
  });

  it("keeps multi-byte characters whole across chunk boundaries", () => {
    const { texts, splitter } = collect();
    splitter.expect(sentinel);
    const bytes = Buffer.from(`ü€😀${sentinel}`);
    for (const byte of bytes) splitter.push(Buffer.from([byte]));
    expect(texts.join("")).toBe("ü€😀");
  });

  it("releases held-back bytes that turn out not to be a sentinel", () => {
    const { texts, events, splitter } = collect();
    splitter.expect(sentinel);
    splitter.push(Buffer.from("a\u001eEXE"));
    expect(texts.join("")).toBe("a");
    splitter.push(Buffer.from("x"));
    expect(texts.join("")).toBe("a\u001eEXEx");
    splitter.flush();
    expect(events).not.toContain("sentinel");
  });

  it("passes text straight through when no call is waiting", () => {
    const { texts, splitter } = collect();
    splitter.push(Buffer.from(`plain${sentinel}`));
    expect(texts.join("")).toBe(`plain${sentinel}`);
  });
});
