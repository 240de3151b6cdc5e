import { describe, expect, it } from "vitest";
import type { ClaimObject, SandboxObject } from "../../../src/shared/sandbox/objects.js";
import { RouterKeys } from "../../../src/api/index.js";
import { claimState, viewOf } from "../../../src/shared/sandbox/sandbox-state.js";

const NOW = Date.parse("2026-01-01T12:00:00Z");

function claim(
  opts: {
    ready?: { status: string; reason: string; message?: string };
    shutdownTime?: string;
    deleting?: boolean;
    finished?: boolean;
  } = {},
): ClaimObject {
  const conditions = [
    ...(opts.ready
      ? [
          {
            type: "Ready",
            status: opts.ready.status,
            reason: opts.ready.reason,
            message: opts.ready.message ?? "",
            lastTransitionTime: "2026-01-01T11:00:00Z",
          },
        ]
      : []),
    ...(opts.finished
      ? [{ type: "Finished", status: "True", reason: "PodSucceeded", message: "", lastTransitionTime: "2026-01-01T11:00:00Z" }]
      : []),
  ];
  return {
    apiVersion: "extensions.agents.x-k8s.io/v1beta1",
    kind: "SandboxClaim",
    metadata: {
      name: "c1",
      namespace: "ns",
      creationTimestamp: "2026-01-01T11:00:00Z" as unknown as Date,
      annotations: { [RouterKeys.TtlSeconds]: "600", [RouterKeys.DisplayName]: "demo" },
      labels: { team: "a" },
      ...(opts.deleting ? { deletionTimestamp: "2026-01-01T11:59:00Z" as unknown as Date } : {}),
    },
    spec: {
      warmPoolRef: { name: "pool" },
      ...(opts.shutdownTime ? { lifecycle: { shutdownTime: opts.shutdownTime, shutdownPolicy: "Retain" } } : {}),
    },
    status: { conditions, sandbox: { name: "pool-abc" } },
  } as ClaimObject;
}

function sandbox(opts: { podIPs?: string[]; mode?: "Running" | "Suspended" } = {}): SandboxObject {
  return {
    apiVersion: "agents.x-k8s.io/v1beta1",
    kind: "Sandbox",
    metadata: { name: "pool-abc", namespace: "ns" },
    spec: { podTemplate: { spec: { containers: [] } }, operatingMode: opts.mode ?? "Running" },
    status: { podIPs: opts.podIPs ?? ["10.0.0.1"] },
  } as unknown as SandboxObject;
}

describe("claimState", () => {
  it("is running only when the claim is Ready and the sandbox has an IP", () => {
    expect(claimState(claim({ ready: { status: "True", reason: "DependenciesReady" } }), sandbox(), NOW).state).toBe("running");
    expect(claimState(claim({ ready: { status: "True", reason: "DependenciesReady" } }), sandbox({ podIPs: [] }), NOW).state).toBe(
      "creating",
    );
    expect(claimState(claim({ ready: { status: "True", reason: "DependenciesReady" } }), undefined, NOW).state).toBe("creating");
    expect(claimState(claim(), undefined, NOW).state).toBe("creating");
  });

  it("is expired once shutdownTime has passed or the controller says so", () => {
    expect(
      claimState(claim({ shutdownTime: "2026-01-01T11:59:59Z", ready: { status: "True", reason: "DependenciesReady" } }), sandbox(), NOW)
        .state,
    ).toBe("expired");
    expect(claimState(claim({ ready: { status: "False", reason: "ClaimExpired" } }), undefined, NOW).state).toBe("expired");
    expect(
      claimState(claim({ shutdownTime: "2026-01-01T12:00:01Z", ready: { status: "True", reason: "DependenciesReady" } }), sandbox(), NOW)
        .state,
    ).toBe("running");
  });

  it("is failed for reasons the controller does not recover from, and for finished pods", () => {
    for (const reason of [
      "InvalidMetadata",
      "EnvVarsInjectionRejected",
      "VolumeClaimTemplatesError",
      "WarmPoolNotFound",
      "TemplateNotFound",
      "PodFailed",
    ]) {
      const s = claimState(claim({ ready: { status: "False", reason, message: "why" } }), undefined, NOW);
      expect(s).toEqual({ state: "failed", reason, message: "why" });
    }
    expect(claimState(claim({ finished: true, ready: { status: "False", reason: "DependenciesNotReady" } }), sandbox(), NOW).state).toBe(
      "failed",
    );
    expect(claimState(claim({ ready: { status: "False", reason: "ReconcilerError" } }), undefined, NOW).state).toBe("creating");
  });

  it("is suspended for a suspended sandbox, and deleting for a claim being deleted", () => {
    expect(claimState(claim({ ready: { status: "False", reason: "SandboxSuspended" } }), sandbox({ mode: "Suspended" }), NOW).state).toBe(
      "suspended",
    );
    expect(claimState(claim({ deleting: true }), sandbox(), NOW).state).toBe("deleting");
  });
});

describe("viewOf", () => {
  it("reports ids, times, TTL, display name, labels and the bound sandbox", () => {
    const v = viewOf(
      claim({ shutdownTime: "2026-01-01T13:00:00Z", ready: { status: "True", reason: "DependenciesReady" } }),
      sandbox(),
      "python",
      NOW,
    );
    expect(v).toMatchObject({
      id: "c1",
      namespace: "ns",
      state: "running",
      warmPool: "pool",
      template: "python",
      displayName: "demo",
      labels: { team: "a" },
      sandboxName: "pool-abc",
      podIPs: ["10.0.0.1"],
      createTime: "2026-01-01T11:00:00.000Z",
      expireTime: "2026-01-01T13:00:00Z",
      ttlSeconds: 600,
    });
  });
});
