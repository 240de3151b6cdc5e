// Reads the verbose output of a Go test binary (`-test.v`) into one result per test and
// subtest. Pure: the runner feeds it the binary's stdout and stderr as they arrive.

export type GoTestStatus = "pass" | "fail" | "skip";

export interface GoTestResult {
  /** Full name as Go prints it: "TestX" or "TestX/sub_case". */
  name: string;
  status: GoTestStatus;
  /** Seconds Go reported, or undefined for a test that never reported (crash, timeout). */
  seconds: number | undefined;
  /** The test's own output lines (t.Log, failures), in order. */
  output: string[];
  /** Why a test with no result line counts as failed. */
  note?: string;
}

// "=== RUN   TestX", "=== NAME  TestX", "=== CONT  TestX", "=== PAUSE TestX"
const MARKER = /^=== (RUN|NAME|CONT|PAUSE)\s+(\S+)\s*$/;
// "--- PASS: TestX (1.23s)", indented four spaces per subtest level.
const RESULT = /^\s*--- (PASS|FAIL|SKIP): (\S+) \((\d+(?:\.\d+)?)s\)\s*$/;
// The line Go prints when -test.timeout fires.
const TIMEOUT = /^panic: test timed out after (\S+)/;

/** Collects results line by line; `finish` closes tests that never reported. */
export class GoTestOutputParser {
  readonly #results = new Map<string, GoTestResult>();
  readonly #started: string[] = [];
  #current: string | undefined;
  #timedOut: string | undefined;
  #panicked = false;

  /** Feeds one line (without its newline). */
  line(text: string): void {
    const marker = MARKER.exec(text);
    if (marker) {
      const name = marker[2]!;
      if (marker[1] === "RUN" && !this.#started.includes(name)) this.#started.push(name);
      this.#current = name;
      return;
    }
    const result = RESULT.exec(text);
    if (result) {
      const name = result[2]!;
      const previous = this.#results.get(name);
      this.#results.set(name, {
        name,
        status: result[1]!.toLowerCase() as GoTestStatus,
        seconds: Number(result[3]),
        output: previous?.output ?? [],
      });
      return;
    }
    const timeout = TIMEOUT.exec(text);
    if (timeout) this.#timedOut = timeout[1];
    else if (text.startsWith("panic: ")) this.#panicked = true;
    if (this.#current !== undefined) this.#outputOf(this.#current).push(text);
  }

  /**
   * Every test that started, in start order. A test that started but printed no result
   * line (the binary panicked, timed out or was killed) is a failure with a note.
   */
  finish(exitCode: number | null, signal?: string | null): GoTestResult[] {
    return this.#started.map((name) => {
      const r = this.#results.get(name);
      if (r && r.seconds !== undefined) return r;
      const why = this.#timedOut
        ? `no result: the binary hit its -test.timeout (${this.#timedOut}) while this test ran`
        : this.#panicked
          ? "no result: the binary panicked while this test ran"
          : signal
            ? `no result: the binary was killed by ${signal} while this test ran`
            : `no result: the binary exited (code ${exitCode ?? "unknown"}) while this test ran`;
      return { name, status: "fail", seconds: undefined, output: r?.output ?? [], note: why };
    });
  }

  #outputOf(name: string): string[] {
    let r = this.#results.get(name);
    if (!r) {
      r = { name, status: "fail", seconds: undefined, output: [] };
      this.#results.set(name, r);
    }
    return r.output;
  }
}

/** Parses a whole captured output at once. */
export function parseGoTestOutput(text: string, exitCode: number | null, signal?: string | null): GoTestResult[] {
  const p = new GoTestOutputParser();
  for (const l of text.split("\n")) p.line(l);
  return p.finish(exitCode, signal);
}

/** "TestX/sub" -> "TestX". */
export function topLevelName(name: string): string {
  const i = name.indexOf("/");
  return i < 0 ? name : name.slice(0, i);
}
