import { describe, expect, it } from "vitest";
import { withProgress } from "../../../src/cli/progress.js";

/** A stand-in terminal: records what the spinner writes. */
function terminal(isTTY: boolean): NodeJS.WriteStream & { written: string[] } {
  const written: string[] = [];
  return { isTTY, written, write: (s: string) => (written.push(s), true) } as unknown as NodeJS.WriteStream & { written: string[] };
}

describe("withProgress", () => {
  it("draws a spinner with the label on a terminal and clears the line when done", async () => {
    const tty = terminal(true);
    expect(await withProgress("waiting for sandbox", Promise.resolve(7), tty)).toBe(7);
    expect(tty.written[0]).toContain("waiting for sandbox");
    expect(tty.written.at(-1)).toBe("\r\x1b[K");
  });

  it("writes nothing when stderr is not a terminal (pipes, logs, scripts)", async () => {
    const pipe = terminal(false);
    expect(await withProgress("waiting", Promise.resolve("x"), pipe)).toBe("x");
    expect(pipe.written).toEqual([]);
  });

  it("clears the line and passes the error on when the work fails", async () => {
    const tty = terminal(true);
    await expect(withProgress("waiting", Promise.reject(new Error("boom")), tty)).rejects.toThrow("boom");
    expect(tty.written.at(-1)).toBe("\r\x1b[K");
  });
});
