// A claim with env is served only once the claim itself is Ready: its env reaches the warm
// sandbox's execution server just before that, so a call sent on the Sandbox's Ready alone
// could run without it.
import { describe, expect, it } from "vitest";
import { resolveTarget } from "../../../src/router/resolve.js";
import type { ClaimObject } from "../../../src/router/caches.js";
import { claim, fakeCaches, sandbox } from "./fake-caches.js";

function withEnv(c: ClaimObject): ClaimObject {
  return { ...c, spec: { ...c.spec, env: [{ name: "API_KEY", valueFrom: { secretKeyRef: { name: "s", key: "k" } } }] } } as ClaimObject;
}

function world(claimObj: ClaimObject) {
  const caches = fakeCaches();
  caches.sandboxes.put(sandbox("member-1", { uid: "uid-sb", ownerClaim: { name: "agent", uid: "uid-claim" } }));
  caches.claims.put(claimObj);
  return caches;
}

describe("resolveTarget: a claim with env", () => {
  it("waits while the claim is not Ready, naming its reason, though the Sandbox is", () => {
    const pending = withEnv(claim("agent", { uid: "uid-claim", sandboxName: "member-1" }));
    const r = resolveTarget(world(pending), "ns", "agent", Date.now());
    expect(r).toMatchObject({ kind: "not-ready", reason: "EnvPending", lasting: false });

    const missing = withEnv(
      claim("agent", {
        uid: "uid-claim",
        sandboxName: "member-1",
        ready: { status: "False", reason: "EnvSecretNotFound", message: 'Secret "s" not found' },
      }),
    );
    const r2 = resolveTarget(world(missing), "ns", "agent", Date.now());
    expect(r2).toMatchObject({ kind: "not-ready", reason: "EnvSecretNotFound", lasting: false });
    if (r2.kind === "not-ready") expect(r2.message).toContain('Secret "s" not found');
  });

  it("is served once the claim is Ready", () => {
    const ready = withEnv(
      claim("agent", { uid: "uid-claim", sandboxName: "member-1", ready: { status: "True", reason: "DependenciesReady" } }),
    );
    expect(resolveTarget(world(ready), "ns", "agent", Date.now())).toMatchObject({ kind: "ready", podIP: "10.0.0.1" });
  });

  it("a claim without env is served on its Sandbox's Ready alone, as before", () => {
    const plain = claim("agent", { uid: "uid-claim", sandboxName: "member-1" });
    expect(resolveTarget(world(plain), "ns", "agent", Date.now())).toMatchObject({ kind: "ready" });
  });
});
