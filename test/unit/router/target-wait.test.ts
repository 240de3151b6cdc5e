// How long a call waits for its sandbox: not at all when it will not come back by itself,
// until it serves when it is restarting, and once more after an unforeseen refusal.
import { IncomingMessage, ServerResponse } from "node:http";
import { Socket } from "node:net";
import { describe, expect, it } from "vitest";
import { ReadyWaiter } from "../../../src/router/ready-waiter.js";
import { resolveTarget } from "../../../src/router/resolve.js";
import { afterRefusal, untilServing } from "../../../src/router/target-wait.js";
import { fakeCaches, sandbox } from "./fake-caches.js";

const config = { resolveWaitMs: 100, restartWaitMs: 10_000 };
const NOW = Date.parse("2026-01-01T12:00:00Z");

function setup() {
  const caches = fakeCaches();
  const waiter = new ReadyWaiter(caches);
  const t = { namespace: "ns", id: "s", resolve: () => resolveTarget(caches, "ns", "s", NOW) };
  const res = new ServerResponse(new IncomingMessage(new Socket()));
  return { caches, deps: { caches, waiter, config }, t, res };
}

const restarting = { ready: { status: "False", reason: "DependenciesNotReady", message: "Pod does not exist" }, podIPs: [] } as const;

describe("untilServing", () => {
  it("returns at once for a sandbox that will not serve again by itself", async () => {
    const { caches, deps, t, res } = setup();
    caches.sandboxes.put(sandbox("s", { uid: "u1", ready: { status: "False", reason: "PodFailed", message: "Pod failed" } }));
    // A wait would last restartWaitMs (10 s), past this test's 5 s limit.
    expect(await untilServing(deps, t, res, t.resolve())).toMatchObject({ kind: "not-ready", reason: "PodFailed", lasting: true });
  });

  it("waits for a restarting sandbox to serve again, past the cache wait", async () => {
    const { caches, deps, t, res } = setup();
    caches.sandboxes.put(sandbox("s", { uid: "u1", ...restarting }));
    const waited = untilServing(deps, t, res, t.resolve());
    setTimeout(() => caches.sandboxes.put(sandbox("s", { uid: "u1", podIPs: ["10.0.0.7"] })), 3 * config.resolveWaitMs);
    expect(await waited).toMatchObject({ kind: "ready", podIP: "10.0.0.7" });
  });

  it("stops waiting when the restarting sandbox fails or is deleted", async () => {
    const { caches, deps, t, res } = setup();
    caches.sandboxes.put(sandbox("s", { uid: "u1", ...restarting }));
    const failing = untilServing(deps, t, res, t.resolve());
    setTimeout(() => caches.sandboxes.put(sandbox("s", { uid: "u1", ready: { status: "False", reason: "PodFailed" } })), 50);
    expect(await failing).toMatchObject({ reason: "PodFailed", lasting: true });
    caches.sandboxes.put(sandbox("s", { uid: "u1", ...restarting }));
    const deleted = untilServing(deps, t, res, t.resolve());
    setTimeout(() => caches.sandboxes.remove("ns", "s"), 50);
    expect(await deleted).toMatchObject({ kind: "not-found" });
  });

  it("gives an unknown name only the cache wait", async () => {
    const { deps, t, res } = setup();
    expect(await untilServing(deps, t, res, t.resolve())).toMatchObject({ kind: "not-found" });
  });
});

describe("afterRefusal", () => {
  const dialled = { namespace: "ns", name: "s", uid: "u1", podIP: "10.0.0.1" };

  it("lets the refusal stand while the caches still show the sandbox Ready where it was dialled", async () => {
    const { caches, deps, t, res } = setup();
    caches.sandboxes.put(sandbox("s", { uid: "u1" }));
    expect(await afterRefusal(deps, t, res, dialled)).toBeUndefined();
  });

  it("waits for the restarted sandbox when the caches learn of the restart, and returns it serving at its new address", async () => {
    const { caches, deps, t, res } = setup();
    caches.sandboxes.put(sandbox("s", { uid: "u1" }));
    const next = afterRefusal(deps, t, res, dialled);
    setTimeout(() => caches.sandboxes.put(sandbox("s", { uid: "u1", ...restarting })), 20);
    setTimeout(() => caches.sandboxes.put(sandbox("s", { uid: "u1", podIPs: ["10.0.0.8"] })), 300);
    expect(await next).toMatchObject({ kind: "ready", podIP: "10.0.0.8" });
  });
});
