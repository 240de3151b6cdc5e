import { describe, expect, it } from "vitest";
import { leftoverNamespaces, releasePatch } from "../../conformance/leftovers.js";
import { countOutcomes, resultTable, type BinaryRun } from "../../conformance/report.js";
import { binaries, notRunnable, skipPattern, unaccounted } from "../../conformance/upstream-plan.js";
import { volumeFor, wantsVolume, STORAGE_CLASS } from "../../conformance/volume-provisioner.js";

describe("the conformance plan", () => {
  it("gives every not-runnable entry a known binary, a Go name and a reason", () => {
    const ids = new Set(binaries.map((b) => b.id));
    for (const n of notRunnable) {
      expect(ids.has(n.binary)).toBe(true);
      expect(n.name).toMatch(/^(Test|Benchmark)[A-Z]\w*$/);
      expect(n.reason.length).toBeGreaterThan(30);
    }
    expect(new Set(notRunnable.map((n) => `${n.binary}/${n.name}`)).size).toBe(notRunnable.length);
  });

  it("skips exactly the not-runnable tests by anchored name", () => {
    const p = skipPattern("extensions")!;
    const re = new RegExp(p);
    expect(re.test("TestRunSandboxdSandbox")).toBe(true);
    expect(re.test("TestRunSandboxdSandboxX")).toBe(false);
    expect(re.test("TestWarmPoolRollout")).toBe(false);
    expect(p).not.toContain("Benchmark");
  });

  it("refuses unexplained benchmarks and stale entries", () => {
    const listed = ["TestSimpleSandbox", "TestRunChromeSandbox", "BenchmarkChromeSandboxStartup", "BenchmarkNew"];
    const r = unaccounted("e2e", listed);
    expect(r.unknown).toEqual(["BenchmarkNew"]);
    expect(r.stale).toContain("BenchmarkWarmPoolParallelClaim");
    expect(r.stale).not.toContain("TestRunChromeSandbox");
  });
});

describe("the conformance report", () => {
  const run: BinaryRun = {
    binary: "extensions",
    seconds: 10,
    results: [
      { name: "TestA", status: "pass", seconds: 1, output: [] },
      { name: "TestB", status: "fail", seconds: 2, output: [] },
      { name: "TestB/one", status: "pass", seconds: 1, output: [] },
      { name: "TestC", status: "pass", seconds: 1, output: [] },
      { name: "TestC/two", status: "fail", seconds: 1, output: [] },
      { name: "TestD", status: "skip", seconds: 0, output: [] },
    ],
  };

  it("counts top-level tests; a failed subtest or a self-skip fails its test", () => {
    expect(countOutcomes([run], notRunnable)).toEqual({ passed: 1, failed: 3, notRunnable: notRunnable.length });
  });

  it("lists every result and every not-runnable test with its reason", () => {
    const text = resultTable([run], notRunnable.slice(0, 1)).join("\n");
    expect(text).toContain("TestD");
    expect(text).toContain("FAIL (skipped itself)");
    expect(text).toContain("  two");
    expect(text).toContain(`${notRunnable[0]!.name}: ${notRunnable[0]!.reason}`);
  });
});

describe("the tier's volume provisioner", () => {
  const pvc = {
    metadata: { name: "data-vct-sandbox", namespace: "ns1", uid: "u-1" },
    spec: { storageClassName: STORAGE_CLASS, accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "2Gi" } } },
    status: { phase: "Pending" },
  };

  it("answers a pending claim of its class with a pre-bound hostPath volume of the requested size", () => {
    expect(wantsVolume(pvc)).toBe(true);
    const pv = volumeFor(pvc, "/volumes");
    expect(pv.spec).toMatchObject({
      storageClassName: STORAGE_CLASS,
      capacity: { storage: "2Gi" },
      accessModes: ["ReadWriteOnce"],
      hostPath: { path: "/volumes/conformance-pvc-u-1", type: "DirectoryOrCreate" },
      claimRef: { namespace: "ns1", name: "data-vct-sandbox", uid: "u-1" },
    });
  });

  it("leaves bound claims and other classes alone", () => {
    expect(wantsVolume({ ...pvc, spec: { ...pvc.spec, volumeName: "pv" } })).toBe(false);
    expect(wantsVolume({ ...pvc, spec: { ...pvc.spec, storageClassName: "standard" } })).toBe(false);
    expect(wantsVolume({ ...pvc, status: { phase: "Bound" } })).toBe(false);
  });
});

describe("the tier's cleanup of what upstream's tests leave", () => {
  it("removes only the test-hold finalizers, guarded by a test of the current list", () => {
    expect(releasePatch({ finalizers: ["keep.me/x", "e2e.agent-sandbox.dev/hold-delete"] })).toEqual([
      { op: "test", path: "/metadata/finalizers", value: ["keep.me/x", "e2e.agent-sandbox.dev/hold-delete"] },
      { op: "replace", path: "/metadata/finalizers", value: ["keep.me/x"] },
    ]);
    expect(releasePatch({ finalizers: ["keep.me/x"] })).toBeUndefined();
    expect(releasePatch(undefined)).toBeUndefined();
  });

  it("picks namespaces created during the run that carry upstream's UnixNano suffix", () => {
    const before = new Set(["default", "sandbox-basic-test-1796593377908136573"]);
    const now = ["default", "sandbox-basic-test-1796593377908136573", "claim-ttl-zero-retain-1796598074305748091", "team-a"];
    expect(leftoverNamespaces(before, now)).toEqual(["claim-ttl-zero-retain-1796598074305748091"]);
  });
});
