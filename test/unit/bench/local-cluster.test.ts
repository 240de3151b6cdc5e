import { describe, expect, it } from "vitest";
import { bareSpecFrom } from "../../../bench/lib/bare-pod.js";
import { cpuMillis, latencyRow, memoryMiB } from "../../../bench/lib/local-cluster.js";
import { summarize } from "../../../bench/lib/stats.js";

/** The shape of a pod the operator rendered for Sandbox "proto", as the API server returns it. */
function operatorPod(): { spec: Record<string, unknown> } {
  return {
    spec: {
      nodeName: "vm",
      priority: 0,
      preemptionPolicy: "PreemptLowerPriority",
      hostname: "proto",
      runtimeClassName: "gvisor",
      automountServiceAccountToken: false,
      volumes: [{ name: "sandbox-workspace", emptyDir: {} }],
      containers: [{ name: "main", image: "agent-sandbox/runtime:0.1.0" }],
      initContainers: [
        {
          name: "sandbox-execd",
          image: "agent-sandbox/runtime:0.1.0",
          restartPolicy: "Always",
          args: ["--port", "8888", "--sandbox", "bench/proto/uid-proto", "--trusted-key", "KEY", "--boot-marker", "/tmp/b"],
          readinessProbe: { httpGet: { path: "/", port: 8888 }, periodSeconds: 1 },
        },
      ],
    },
  };
}

describe("bareSpecFrom", () => {
  it("keeps the rendered containers and runtime class, drops what scheduling and admission fill in, and gives the execution server a fixed token instead of the sandbox and router key", () => {
    const pod = operatorPod();
    const spec = bareSpecFrom(pod, "proto", "bare-token");
    expect(spec.nodeName).toBeUndefined();
    expect(spec.priority).toBeUndefined();
    expect(spec.preemptionPolicy).toBeUndefined();
    expect(spec.hostname).toBeUndefined();
    expect(spec["runtimeClassName"]).toBe("gvisor");
    expect(spec["automountServiceAccountToken"]).toBe(false);
    expect(spec["containers"]).toEqual(pod.spec["containers"]);
    expect(spec.initContainers?.[0]?.args).toEqual(["--port", "8888", "--boot-marker", "/tmp/b", "--token", "bare-token"]);
    expect(spec["volumes"]).toEqual([{ name: "sandbox-workspace", emptyDir: {} }]);
  });

  it("leaves the operator's pod untouched", () => {
    const pod = operatorPod();
    const before = structuredClone(pod);
    bareSpecFrom(pod, "proto", "bare-token");
    expect(pod).toEqual(before);
  });

  it("refuses a pod whose execution server is not bound to its sandbox, and one without a spec", () => {
    expect(() => bareSpecFrom({ spec: { containers: [{ name: "main" }] } }, "other", "bare-token")).toThrow(
      /Sandbox other has no execution server bound/,
    );
    expect(() => bareSpecFrom({}, "proto", "bare-token")).toThrow(/no spec/);
  });
});

describe("memoryMiB", () => {
  it("reads binary and decimal suffixes and plain bytes", () => {
    expect(memoryMiB("256Mi")).toBe(256);
    expect(memoryMiB("1Gi")).toBe(1024);
    expect(memoryMiB("512Ki")).toBe(0.5);
    expect(memoryMiB("1048576")).toBe(1);
    expect(memoryMiB("1M")).toBeCloseTo(0.9537, 4);
    expect(memoryMiB(undefined)).toBe(0);
  });

  it("refuses what is not a quantity, naming it", () => {
    expect(() => memoryMiB("lots")).toThrow('"lots" is not a memory quantity');
  });
});

describe("cpuMillis", () => {
  it("reads whole cores, fractions and the m/u/n suffixes", () => {
    expect(cpuMillis("2")).toBe(2000);
    expect(cpuMillis("1.5")).toBe(1500);
    expect(cpuMillis("250m")).toBe(250);
    expect(cpuMillis("100000u")).toBe(100);
    expect(cpuMillis("500000000n")).toBe(500);
    expect(cpuMillis(undefined)).toBe(0);
  });

  it("names a quantity it cannot read", () => {
    expect(() => cpuMillis("two")).toThrow(/"two" is not a CPU quantity/);
    expect(() => cpuMillis("1Ki")).toThrow(/not a CPU quantity/);
  });
});

describe("latencyRow", () => {
  it("puts the count and the percentiles in the table's column order, one decimal", () => {
    const s = summarize([1.04, 2, 3, 4, 100.26], "ms");
    expect(latencyRow("x", s, "t")).toEqual(["x", 5, 3, 100.3, 100.3, 100.3, "t"]);
  });
});
