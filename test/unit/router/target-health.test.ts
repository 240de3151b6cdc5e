// Which sandboxes a call fails on at once, which it waits for, and when a call in flight is lost.
import { describe, expect, it } from "vitest";
import { resolveTarget } from "../../../src/router/resolve.js";
import { callVerdict, isLasting } from "../../../src/router/target-health.js";
import { claim, fakeCaches, sandbox, type SandboxOpts } from "./fake-caches.js";

const NOW = Date.parse("2026-01-01T12:00:00Z");

function resolveOne(opts: SandboxOpts) {
  const c = fakeCaches();
  c.sandboxes.put(sandbox("s", opts));
  return resolveTarget(c, "ns", "s", NOW);
}

describe("resolution of a sandbox that is not serving", () => {
  it("is lasting (answered at once) for a failed, finished, suspended, expired or deleted sandbox, with the status reason", () => {
    expect(resolveOne({ uid: "u", ready: { status: "False", reason: "PodFailed", message: "Pod failed (Evicted: disk)" } })).toMatchObject({
      kind: "not-ready",
      reason: "PodFailed",
      message: "sandbox s is not ready: Pod failed (Evicted: disk)",
      lasting: true,
    });
    for (const reason of ["PodSucceeded", "MultiplePods", "SandboxExpired", "ReconcilerError"]) {
      expect(resolveOne({ uid: "u", ready: { status: "False", reason } })).toMatchObject({ reason, lasting: true });
    }
    expect(resolveOne({ uid: "u", suspended: true })).toMatchObject({ reason: "SandboxSuspended", lasting: true });
    expect(resolveOne({ uid: "u", deleting: true })).toMatchObject({ reason: "SandboxDeleting", lasting: true });
  });

  it("is transient (waited for) while the pod is being created or recreated or a container restarts", () => {
    expect(
      resolveOne({ uid: "u", ready: { status: "False", reason: "DependenciesNotReady", message: "Pod does not exist" }, podIPs: [] }),
    ).toMatchObject({
      reason: "DependenciesNotReady",
      message: "sandbox s is not ready: Pod does not exist",
      lasting: false,
    });
    expect(resolveOne({ uid: "u", podIPs: [] })).toMatchObject({ reason: "SandboxNotReady", lasting: false });
  });

  it("follows a claim: failed without a sandbox is lasting, waiting for one is not", () => {
    const c = fakeCaches();
    c.claims.put(claim("bad", { uid: "c1", ready: { status: "False", reason: "TemplateNotFound", message: "template t not found" } }));
    c.claims.put(claim("new", { uid: "c2", ready: { status: "False", reason: "SandboxMissing" } }));
    expect(resolveTarget(c, "ns", "bad", NOW)).toMatchObject({
      kind: "not-ready",
      reason: "TemplateNotFound",
      message: "sandbox bad failed: template t not found",
      lasting: true,
    });
    expect(resolveTarget(c, "ns", "new", NOW)).toMatchObject({ kind: "not-ready", reason: "SandboxPending", lasting: false });
  });

  it("knows which reasons last", () => {
    expect(isLasting("PodFailed")).toBe(true);
    expect(isLasting("DependenciesNotReady")).toBe(false);
  });
});

describe("a call in flight", () => {
  const dialled = { namespace: "ns", name: "s", uid: "u1", podIP: "10.0.0.1" };

  it("is alive while the Sandbox is Ready at the address it went to", () => {
    expect(callVerdict(sandbox("s", { uid: "u1" }), dialled)).toEqual({ kind: "alive" });
  });

  it("is lost when the Sandbox is deleted, replaced under its name, being deleted or suspended", () => {
    expect(callVerdict(undefined, dialled)).toMatchObject({
      kind: "lost",
      reason: "NotFound",
      message: "sandbox s went away during the call: it was deleted (not found)",
    });
    expect(callVerdict(sandbox("s", { uid: "u2" }), dialled)).toMatchObject({ kind: "lost", reason: "NotFound" });
    expect(callVerdict(sandbox("s", { uid: "u1", deleting: true }), dialled)).toMatchObject({ kind: "lost", reason: "SandboxDeleting" });
    expect(callVerdict(sandbox("s", { uid: "u1", suspended: true }), dialled)).toMatchObject({ kind: "lost", reason: "SandboxSuspended" });
  });

  it("is lost when its pod failed or is gone, naming the Sandbox's Ready reason and message", () => {
    expect(
      callVerdict(sandbox("s", { uid: "u1", ready: { status: "False", reason: "PodFailed", message: "Pod failed (Evicted)" } }), dialled),
    ).toEqual({
      kind: "lost",
      reason: "PodFailed",
      message: "sandbox s went away during the call: Pod failed (Evicted)",
    });
    expect(
      callVerdict(
        sandbox("s", { uid: "u1", ready: { status: "False", reason: "DependenciesNotReady", message: "Pod does not exist" }, podIPs: [] }),
        dialled,
      ),
    ).toEqual({
      kind: "lost",
      reason: "DependenciesNotReady",
      message: "sandbox s went away during the call: its pod at 10.0.0.1 is gone; Pod does not exist",
    });
    // Already back, Ready, on a new pod: the call went to the old one.
    expect(callVerdict(sandbox("s", { uid: "u1", podIPs: ["10.0.0.5"] }), dialled)).toMatchObject({ kind: "lost", reason: "PodReplaced" });
  });

  it("is only suspect when the Sandbox turned not Ready on the same pod (a probe may have timed out under load)", () => {
    expect(
      callVerdict(
        sandbox("s", { uid: "u1", ready: { status: "False", reason: "DependenciesNotReady", message: "Pod is Running but not Ready" } }),
        dialled,
      ),
    ).toMatchObject({
      kind: "suspect",
      reason: "DependenciesNotReady",
    });
  });
});
