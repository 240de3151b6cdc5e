import { describe, expect, it } from "vitest";
import { parseGoTestOutput, topLevelName } from "../../conformance/go-test-output.js";

const sample = [
  "=== RUN   TestSimpleSandbox",
  "    basic_test.go:80: Creating object *v1.Namespace (sandbox-basic-test-1)",
  "--- PASS: TestSimpleSandbox (12.34s)",
  "=== RUN   TestWarmPoolRollout",
  "=== RUN   TestWarmPoolRollout/default",
  "    warmpool_rollout_test.go:99: waiting",
  "=== RUN   TestWarmPoolRollout/recreate",
  "    warmpool_rollout_test.go:120: Error Trace: boom",
  "--- FAIL: TestWarmPoolRollout (40.00s)",
  "    --- PASS: TestWarmPoolRollout/default (10.50s)",
  "    --- FAIL: TestWarmPoolRollout/recreate (29.50s)",
  "=== RUN   TestRuntimeClassLifecycle",
  "    runtime_class_test.go:44: SANDBOX_RUNTIME_CLASS not set",
  "--- SKIP: TestRuntimeClassLifecycle (0.00s)",
  "FAIL",
].join("\n");

describe("go test -v output", () => {
  it("gives one result per test and subtest, in start order, with its own output", () => {
    const results = parseGoTestOutput(sample, 1);
    expect(results.map((r) => [r.name, r.status, r.seconds])).toEqual([
      ["TestSimpleSandbox", "pass", 12.34],
      ["TestWarmPoolRollout", "fail", 40],
      ["TestWarmPoolRollout/default", "pass", 10.5],
      ["TestWarmPoolRollout/recreate", "fail", 29.5],
      ["TestRuntimeClassLifecycle", "skip", 0],
    ]);
    expect(results[3]!.output).toEqual(["    warmpool_rollout_test.go:120: Error Trace: boom"]);
    expect(results[0]!.output).toContain("    basic_test.go:80: Creating object *v1.Namespace (sandbox-basic-test-1)");
  });

  it("fails a test that started but never reported, naming the timeout", () => {
    const text = [
      "=== RUN   TestParallelSandboxes",
      "    parallelism_test.go:10: waiting",
      "panic: test timed out after 1h0m0s",
      "\trunning tests:",
      "\t\tTestParallelSandboxes (1h0m0s)",
    ].join("\n");
    const [r] = parseGoTestOutput(text, 2);
    expect(r).toMatchObject({ name: "TestParallelSandboxes", status: "fail", seconds: undefined });
    expect(r!.note).toContain("-test.timeout (1h0m0s)");
  });

  it("fails a test cut short by a panic or a kill", () => {
    expect(parseGoTestOutput("=== RUN   TestA\npanic: runtime error: nil map", 2)[0]!.note).toContain("panicked");
    expect(parseGoTestOutput("=== RUN   TestA", null, "SIGKILL")[0]!.note).toContain("killed by SIGKILL");
    expect(parseGoTestOutput("=== RUN   TestA", 3)[0]!.note).toContain("code 3");
  });

  it("keeps subtest names with punctuation whole", () => {
    const text = [
      "=== RUN   TestCreateSandboxClaimVolumeClaimTemplates/policy=Allowed,_duplicate_VCT_volume_name_rejected",
      "    --- PASS: TestCreateSandboxClaimVolumeClaimTemplates/policy=Allowed,_duplicate_VCT_volume_name_rejected (3.10s)",
    ].join("\n");
    expect(parseGoTestOutput(text, 0)[0]).toMatchObject({ status: "pass", seconds: 3.1 });
    expect(topLevelName("TestA/b/c")).toBe("TestA");
    expect(topLevelName("TestA")).toBe("TestA");
  });
});
