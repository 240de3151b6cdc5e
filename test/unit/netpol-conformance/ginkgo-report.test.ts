import { describe, expect, it } from "vitest";
import { comparisonTable, countSpecs, parseGinkgoReport } from "../../netpol-conformance/ginkgo-report.js";

// The shape Ginkgo v2 writes with --ginkgo.json-report: an array of suite reports.
const report = JSON.stringify([
  {
    SuitePath: "/tmp/x",
    SpecReports: [
      { ContainerHierarchyTexts: null, LeafNodeText: "", LeafNodeType: "SynchronizedBeforeSuite", State: "passed", RunTime: 1000 },
      {
        ContainerHierarchyTexts: ["[sig-network] Netpol", "NetworkPolicy between server and client"],
        LeafNodeType: "It",
        LeafNodeText: "should support a 'default-deny-ingress' policy",
        State: "passed",
        RunTime: 41_260_000_000,
      },
      {
        ContainerHierarchyTexts: ["[sig-network] Netpol", "NetworkPolicy between server and client"],
        LeafNodeType: "It",
        LeafNodeText: "should enforce except clause while egress access to server in CIDR block",
        State: "failed",
        RunTime: 95_000_000_000,
        Failure: { Message: "\nHad 3 wrong results in reachability matrix\nmore" },
      },
      {
        ContainerHierarchyTexts: ["[sig-network] Netpol", "NetworkPolicy between server and client"],
        LeafNodeType: "It",
        LeafNodeText: "should deny egress from all pods in a namespace",
        State: "timedout",
        RunTime: 5_000_000_000,
        Failure: { Message: "A suite timeout occurred" },
      },
      {
        ContainerHierarchyTexts: null,
        LeafNodeType: "ReportAfterSuite",
        LeafNodeText: "Kubernetes e2e JUnit report",
        State: "passed",
        RunTime: 1000,
      },
      {
        ContainerHierarchyTexts: ["[sig-network] Netpol [LinuxOnly]"],
        LeafNodeType: "It",
        LeafNodeText: "should support a 'default-deny-ingress' policy over SCTP",
        State: "skipped",
        RunTime: 0,
      },
    ],
  },
]);

describe("parseGinkgoReport", () => {
  const specs = parseGinkgoReport(report);

  it("gives one row per spec with its full text, leaving out suite setup and report nodes", () => {
    expect(specs.map((s) => s.name)).toEqual([
      "[sig-network] Netpol NetworkPolicy between server and client should support a 'default-deny-ingress' policy",
      "[sig-network] Netpol NetworkPolicy between server and client should enforce except clause while egress access to server in CIDR block",
      "[sig-network] Netpol NetworkPolicy between server and client should deny egress from all pods in a namespace",
      "[sig-network] Netpol [LinuxOnly] should support a 'default-deny-ingress' policy over SCTP",
    ]);
  });

  it("folds timed-out specs into failed, keeps the first line of the failure and the time in seconds", () => {
    expect(specs.map((s) => s.outcome)).toEqual(["passed", "failed", "failed", "skipped"]);
    expect(specs[0]).toEqual(expect.objectContaining({ seconds: 41.3 }));
    expect(specs[0]).not.toHaveProperty("failure");
    expect(specs[1]?.failure).toBe("Had 3 wrong results in reachability matrix");
    expect(specs[2]?.failure).toBe("A suite timeout occurred");
  });

  it("counts only specs that ran", () => {
    expect(countSpecs(specs)).toEqual({ passed: 1, failed: 2, ran: 3 });
  });

  it("refuses a report that is not Ginkgo's", () => {
    expect(() => parseGinkgoReport(JSON.stringify({ SpecReports: [] }))).toThrow();
  });
});

describe("comparisonTable", () => {
  it("puts each enforcer's outcome side by side and marks specs an enforcer did not run", () => {
    const lines = comparisonTable([
      {
        enforcer: "ours",
        specs: [
          { name: "b spec", outcome: "passed", seconds: 2 },
          { name: "a spec", outcome: "failed", seconds: 3 },
        ],
      },
      { enforcer: "theirs", specs: [{ name: "a spec", outcome: "passed", seconds: 4 }] },
    ]);
    expect(lines).toEqual([
      "| spec | ours | theirs |",
      "| --- | --- | --- |",
      "| a spec | failed (3 s) | passed (4 s) |",
      "| b spec | passed (2 s) | not run |",
    ]);
  });
});
