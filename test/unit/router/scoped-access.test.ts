// Sandbox tokens are matched on the UIDs of the live objects a request resolves to, never on
// names: a claim's token does not open a raw Sandbox that has the claim's name, nor a claim
// created again under that name.
import { describe, expect, it } from "vitest";
import { resolveTarget, targetOf } from "../../../src/router/resolve.js";
import { identityOf, scopedAllows } from "../../../src/router/scoped-access.js";
import type { ScopedSubject } from "../../../src/router/scoped-token.js";
import { claim, fakeCaches, sandbox } from "./fake-caches.js";

const NOW = Date.parse("2026-01-01T12:00:00Z");
const claimToken: ScopedSubject = { namespace: "ns", name: "x", boundTo: { kind: "claim", uid: "claim-x-1" } };
const rawToken: ScopedSubject = { namespace: "ns", name: "x", boundTo: { kind: "sandbox", uid: "raw-x-1" } };

/** Claim x (adopted warm sandbox pool-a) next to a raw Sandbox that is also named x. */
function world() {
  const c = fakeCaches();
  c.claims.put(claim("x", { uid: "claim-x-1", sandboxName: "pool-a", ready: { status: "True", reason: "DependenciesReady" } }));
  c.sandboxes.put(sandbox("pool-a", { uid: "pool-a-1", ownerClaim: { name: "x", uid: "claim-x-1" }, podIPs: ["10.0.0.2"] }));
  c.sandboxes.put(sandbox("x", { uid: "raw-x-1", podIPs: ["10.0.0.9"] }));
  return c;
}

const exec = (c: ReturnType<typeof fakeCaches>, subject: ScopedSubject, id: string, preferClaim: boolean) => {
  const r = resolveTarget(c, "ns", id, NOW, { preferClaim });
  return { r, allowed: scopedAllows(subject, { kind: "exec", namespace: "ns", requestedName: id, target: targetOf(r) }) };
};

describe("a claim's token", () => {
  it("opens the Sandbox its claim controls, looked up as the claim even when a raw Sandbox has the same name", () => {
    const { r, allowed } = exec(world(), claimToken, "x", true);
    expect(r.kind === "ready" && r.sandbox.metadata.name).toBe("pool-a");
    expect(allowed).toBe(true);
    // Also through the adopted Sandbox's own name (its controller is the claim).
    expect(exec(world(), claimToken, "pool-a", true).allowed).toBe(true);
  });

  it("never opens the raw Sandbox of the same name", () => {
    // Resolved the way a Kubernetes caller's request is (Sandbox first): the raw x, refused.
    const { r, allowed } = exec(world(), claimToken, "x", false);
    expect(r.kind === "ready" && r.sandbox.metadata.uid).toBe("raw-x-1");
    expect(allowed).toBe(false);
  });

  it("does not open a claim created again under its name (new uid), nor that claim's Sandbox", () => {
    const c = world();
    c.claims.put(claim("x", { uid: "claim-x-2", sandboxName: "pool-b", ready: { status: "True", reason: "DependenciesReady" } }));
    c.sandboxes.put(sandbox("pool-b", { uid: "pool-b-1", ownerClaim: { name: "x", uid: "claim-x-2" } }));
    expect(exec(c, claimToken, "x", true).allowed).toBe(false);
    expect(exec(c, claimToken, "pool-b", true).allowed).toBe(false);
    expect(
      scopedAllows(claimToken, {
        kind: "claim",
        verb: "get",
        namespace: "ns",
        name: "x",
        target: identityOf(undefined, c.claims.get("ns", "x")),
      }),
    ).toBe(false);
    expect(
      scopedAllows(claimToken, {
        kind: "claim",
        verb: "delete",
        namespace: "ns",
        name: "x",
        target: identityOf(undefined, c.claims.get("ns", "x")),
      }),
    ).toBe(false);
  });

  it("keeps working while its claim has no Sandbox yet and after the claim gets a new one", () => {
    const c = fakeCaches();
    c.claims.put(claim("x", { uid: "claim-x-1" }));
    expect(exec(c, claimToken, "x", true)).toMatchObject({ r: { kind: "not-ready", reason: "SandboxPending" }, allowed: true });
    c.claims.put(claim("x", { uid: "claim-x-1", sandboxName: "pool-z", ready: { status: "True", reason: "DependenciesReady" } }));
    c.sandboxes.put(sandbox("pool-z", { uid: "pool-z-7", ownerClaim: { name: "x", uid: "claim-x-1" } }));
    expect(exec(c, claimToken, "x", true)).toMatchObject({ r: { kind: "ready" }, allowed: true });
  });

  it("never reaches a Sandbox its claim points at but does not control", () => {
    const c = fakeCaches();
    c.claims.put(claim("x", { uid: "claim-x-1", sandboxName: "elsewhere" }));
    c.sandboxes.put(sandbox("elsewhere", { uid: "other-1", podIPs: ["10.0.0.5"] }));
    // The claim counts as having no Sandbox yet (an adoption may be landing): the call waits.
    const { r } = exec(c, claimToken, "x", true);
    expect(r).toMatchObject({ kind: "not-ready", reason: "SandboxPending" });
    expect(r.kind === "not-ready" && r.sandbox).toBeUndefined();
    // Asked for by its own name, the other Sandbox is still refused to this token.
    expect(exec(c, claimToken, "elsewhere", true).allowed).toBe(false);
  });
});

describe("a Sandbox's token", () => {
  it("opens that Sandbox, and not one created again under its name", () => {
    expect(exec(world(), rawToken, "x", false).allowed).toBe(true);
    const c = world();
    c.sandboxes.put(sandbox("x", { uid: "raw-x-2" }));
    expect(exec(c, rawToken, "x", false).allowed).toBe(false);
  });

  it("does not open, read or delete the claim that has its name", () => {
    const c = world();
    expect(exec(c, rawToken, "x", true).allowed).toBe(false);
    expect(exec(c, rawToken, "pool-a", false).allowed).toBe(false);
    const claimTarget = identityOf(c.sandboxes.get("ns", "pool-a"), c.claims.get("ns", "x"));
    expect(scopedAllows(rawToken, { kind: "claim", verb: "get", namespace: "ns", name: "x", target: claimTarget })).toBe(false);
    expect(scopedAllows(rawToken, { kind: "claim", verb: "delete", namespace: "ns", name: "x", target: claimTarget })).toBe(false);
  });

  it("reads and deletes the claim that controls its Sandbox", () => {
    const c = world();
    const poolToken: ScopedSubject = { namespace: "ns", name: "pool-a", boundTo: { kind: "sandbox", uid: "pool-a-1" } };
    const target = identityOf(c.sandboxes.get("ns", "pool-a"), c.claims.get("ns", "x"));
    expect(scopedAllows(poolToken, { kind: "claim", verb: "get", namespace: "ns", name: "x", target })).toBe(true);
    expect(scopedAllows(poolToken, { kind: "claim", verb: "delete", namespace: "ns", name: "x", target })).toBe(true);
    expect(scopedAllows(poolToken, { kind: "claim", verb: "list", namespace: "ns", target })).toBe(false);
  });
});

describe("suspend and resume (patch on the Sandbox)", () => {
  const patch = (c: ReturnType<typeof fakeCaches>, subject: ScopedSubject, claimName: string, sandboxName: string | undefined) =>
    scopedAllows(subject, {
      kind: "sandbox",
      verb: "patch",
      namespace: "ns",
      requestedName: sandboxName ?? claimName,
      target: identityOf(sandboxName ? c.sandboxes.get("ns", sandboxName) : undefined, c.claims.get("ns", claimName)),
    });

  it("is allowed to the token of the claim that controls the Sandbox, and to that Sandbox's token", () => {
    const c = world();
    expect(patch(c, claimToken, "x", "pool-a")).toBe(true);
    const poolToken: ScopedSubject = { namespace: "ns", name: "pool-a", boundTo: { kind: "sandbox", uid: "pool-a-1" } };
    expect(patch(c, poolToken, "x", "pool-a")).toBe(true);
  });

  it("is refused to a raw Sandbox's token of the claim's name, and after the claim was created again", () => {
    expect(patch(world(), rawToken, "x", "pool-a")).toBe(false);
    const c = world();
    c.claims.put(claim("x", { uid: "claim-x-2", sandboxName: "pool-b" }));
    c.sandboxes.put(sandbox("pool-b", { uid: "pool-b-1", ownerClaim: { name: "x", uid: "claim-x-2" } }));
    expect(patch(c, claimToken, "x", "pool-b")).toBe(false);
  });

  it("lets the claim's own token through while the claim has no Sandbox (the router then answers 409)", () => {
    const c = fakeCaches();
    c.claims.put(claim("x", { uid: "claim-x-1" }));
    expect(patch(c, claimToken, "x", undefined)).toBe(true);
    expect(patch(c, rawToken, "x", undefined)).toBe(false);
  });

  it("allows no other verb on the Sandbox", () => {
    const c = world();
    const target = identityOf(c.sandboxes.get("ns", "pool-a"), c.claims.get("ns", "x"));
    expect(scopedAllows(claimToken, { kind: "sandbox", verb: "delete", namespace: "ns", requestedName: "pool-a", target })).toBe(false);
    expect(scopedAllows(claimToken, { kind: "sandbox", verb: "patch", namespace: "other", requestedName: "pool-a", target })).toBe(false);
  });
});

describe("any sandbox token", () => {
  it("learns not-found for its own name only, and nothing in another namespace or about pools", () => {
    const empty = fakeCaches();
    expect(exec(empty, claimToken, "x", true)).toMatchObject({ r: { kind: "not-found" }, allowed: true });
    expect(exec(empty, claimToken, "y", true).allowed).toBe(false);
    expect(scopedAllows(claimToken, { kind: "claim", verb: "get", namespace: "ns", name: "x" })).toBe(true);
    expect(scopedAllows(claimToken, { kind: "claim", verb: "get", namespace: "ns", name: "y" })).toBe(false);
    expect(scopedAllows(claimToken, { kind: "exec", namespace: "other", requestedName: "x", target: {} })).toBe(false);
    expect(scopedAllows(claimToken, { kind: "pool" })).toBe(false);
  });
});
