// Operator flags: lease timings parse as durations and reach the options; bad values are refused.
import { describe, expect, it } from "vitest";
import { parseOperatorFlags } from "../../../src/operator/flags.js";

describe("operator flags: leader election timings", () => {
  it("defaults to client-go's 15s/10s/2s", () => {
    expect(parseOperatorFlags([]).leaderElectionTimings).toEqual({ leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 });
  });

  it("accepts seconds, milliseconds and bare seconds", () => {
    const f = parseOperatorFlags(["--leader-elect-lease-duration=4s", "--leader-elect-renew-deadline", "3000ms", "--leader-elect-retry-period=0.5"]);
    expect(f.leaderElectionTimings).toEqual({ leaseDurationMs: 4_000, renewDeadlineMs: 3_000, retryPeriodMs: 500 });
  });

  it("refuses a value that is not a positive duration, naming the flag", () => {
    expect(() => parseOperatorFlags(["--leader-elect-lease-duration=soon"])).toThrow(/--leader-elect-lease-duration must be a duration/);
    expect(() => parseOperatorFlags(["--leader-elect-retry-period=0s"])).toThrow(/--leader-elect-retry-period/);
  });
});
