// Router-signed sandbox tokens are bound to the UID of what they were issued for, checked
// against the live objects in the router's caches: a token for claim x does not open a raw
// Sandbox that is also named x, nor a claim x deleted and created again; a Sandbox's token does
// not read or delete a claim of its name. Real API server, operator and execution servers (see
// router-fixture.ts for the simulated pod network).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Kube } from "../../../src/runtime/index.js";
import { SCOPED_TOKEN_ISSUER } from "../../../src/router/scoped-token.js";
import { SignJWT } from "jose";
import {
  claimManifest,
  poolManifest,
  sandboxManifest,
  startOperator,
  templateManifest,
  type RunningOperator,
} from "../controllers/operator-fixture.js";
import { freshNamespace, testKube, userToken, waitFor } from "../harness/cluster.js";
import { call, getClaim, poolReady, sandboxReady } from "./helpers.js";
import { grantSandboxUser, SIGNING_KEY, startRouter, type RunningRouter } from "./router-fixture.js";

const EXT = "extensions.agents.x-k8s.io/v1beta1";
const SB = "agents.x-k8s.io/v1beta1";

let kube: Kube;
let operator: RunningOperator;
let router: RunningRouter;
let ns: string;
let alice: string;

type Answer = { stdout?: string; error?: { code: string; message: string } };

beforeAll(async () => {
  kube = testKube();
  operator = await startOperator();
  router = await startRouter();
  ns = await freshNamespace("router-identity");
  await grantSandboxUser(kube, ns, "alice");
  alice = userToken("alice");
  await kube.create(templateManifest(ns, "python"));
  await kube.create(poolManifest(ns, "pool", "python", 1));
  await poolReady(kube, ns, "pool", 1);
});

afterAll(async () => {
  await router?.stop();
  await operator?.stop();
});

/** Creates claim `name` from the pool and waits until the router serves it; returns its uid and Sandbox name. */
async function readyClaim(name: string): Promise<{ uid: string; sandboxName: string }> {
  await poolReady(kube, ns, "pool", 1);
  await kube.create(claimManifest(ns, name, "pool"));
  const claim = await waitFor(
    async () => {
      const c = await getClaim(kube, ns, name);
      return c.status?.conditions?.some((x) => x.type === "Ready" && x.status === "True") ? c : undefined;
    },
    { timeoutMs: 60_000, message: `claim ${name} Ready` },
  );
  const sandboxName = claim.status?.sandbox?.name ?? "";
  await waitFor(
    () =>
      router.router.caches.claims.get(ns, name)?.metadata.uid === claim.metadata?.uid &&
      router.router.caches.sandboxes.get(ns, sandboxName)?.status?.podIPs?.length,
    {
      message: `router serves claim ${name}`,
    },
  );
  return { uid: claim.metadata?.uid ?? "", sandboxName };
}

async function deleteClaim(name: string): Promise<void> {
  await kube.delete({ apiVersion: EXT, kind: "SandboxClaim", namespace: ns, name });
  await waitFor(
    async () =>
      !(await kube.getOrUndefined({ apiVersion: EXT, kind: "SandboxClaim", namespace: ns, name })) &&
      !router.router.caches.claims.get(ns, name),
    { message: `claim ${name} gone` },
  );
}

const mint = async (id: string): Promise<string> => {
  const res = await call<{ token: string }>(`${router.url}/v1/sandboxes/${id}/token?namespace=${ns}`, { token: alice, body: {} });
  expect(res.status).toBe(200);
  return res.body.token;
};

/** Runs code with `token`, addressing `id` with upstream's headers; returns the answer and the Sandboxes dialled. */
async function run(token: string, id: string) {
  const before = router.network.dials.length;
  const res = await call<Answer>(`${router.url}/execute`, {
    token,
    headers: { "x-sandbox-id": id, "x-sandbox-namespace": ns },
    body: { command: "echo hi" },
  });
  return { ...res, dialled: router.network.dials.slice(before).map((d) => d.sandboxName) };
}

describe("a claim's token", () => {
  let claimToken: string;
  let first: { uid: string; sandboxName: string };

  it("opens its claim's Sandbox, even with a raw Sandbox of the claim's name beside it", async () => {
    first = await readyClaim("x");
    claimToken = await mint("x");
    await kube.create(sandboxManifest(ns, "x"));
    await sandboxReady(kube, ns, "x");
    await waitFor(() => router.router.caches.sandboxes.get(ns, "x")?.status?.podIPs?.length, { message: "router sees raw x" });
    const ok = await run(claimToken, "x");
    expect(ok.status).toBe(200);
    expect(ok.body.stdout).toBe("hi\n");
    expect(ok.dialled).toEqual([first.sandboxName]);
    // Alice's own Kubernetes token, by upstream's rule (a Sandbox wins the name), reaches the raw one.
    expect((await run(alice, "x")).dialled).toEqual(["x"]);
  });

  it("does not open the raw Sandbox of the same name once its claim is gone (it did, by name, before)", async () => {
    await deleteClaim("x");
    const res = await run(claimToken, "x");
    expect(res.status).toBe(403);
    expect(res.body.error?.message).toContain(`for ${ns}/x only (the SandboxClaim of uid ${first.uid}`);
    expect(res.dialled).toEqual([]);
  });

  it("does not open, read or delete a claim x created again (new uid); a token minted for the new one does", async () => {
    const second = await readyClaim("x");
    expect(second.uid).not.toBe(first.uid);
    const res = await run(claimToken, "x");
    expect(res.status).toBe(403);
    expect(res.dialled).toEqual([]);
    expect((await call(`${router.url}/v1/sandboxes/x?namespace=${ns}`, { token: claimToken })).status).toBe(403);
    expect((await call(`${router.url}/v1/sandboxes/x/execute?namespace=${ns}`, { token: claimToken, body: { code: "1" } })).status).toBe(
      403,
    );
    expect((await call(`${router.url}/v1/sandboxes/x?namespace=${ns}`, { token: claimToken, method: "DELETE" })).status).toBe(403);
    expect((await getClaim(kube, ns, "x")).metadata?.uid).toBe(second.uid);

    const fresh = await mint("x");
    const ok = await run(fresh, "x");
    expect(ok.status).toBe(200);
    expect(ok.dialled).toEqual([second.sandboxName]);
    expect((await call(`${router.url}/v1/sandboxes/x?namespace=${ns}`, { token: fresh })).status).toBe(200);
  });
});

describe("a raw Sandbox's token", () => {
  it("opens that Sandbox, but neither reads nor deletes the claim named like it, and dies with the Sandbox", async () => {
    // Claim x (the second one) and raw Sandbox x both exist: minting for "x" as a claim gives a
    // claim token, so mint for a raw Sandbox without a claim of its name, then make one.
    await kube.create(sandboxManifest(ns, "y"));
    await sandboxReady(kube, ns, "y");
    await waitFor(() => router.router.caches.sandboxes.get(ns, "y")?.status?.podIPs?.length, { message: "router serves raw y" });
    const rawToken = await mint("y");
    expect((await run(rawToken, "y")).dialled).toEqual(["y"]);

    await readyClaim("y");
    expect((await call(`${router.url}/v1/sandboxes/y?namespace=${ns}`, { token: rawToken })).status).toBe(403);
    expect((await call(`${router.url}/v1/sandboxes/y?namespace=${ns}`, { token: rawToken, method: "DELETE" })).status).toBe(403);
    expect(await kube.getOrUndefined({ apiVersion: EXT, kind: "SandboxClaim", namespace: ns, name: "y" })).toBeDefined();

    const oldUid = router.router.caches.sandboxes.get(ns, "y")?.metadata.uid;
    await kube.delete({ apiVersion: SB, kind: "Sandbox", namespace: ns, name: "y" });
    await waitFor(async () => !(await kube.getOrUndefined({ apiVersion: SB, kind: "Sandbox", namespace: ns, name: "y" })), {
      message: "raw y gone",
    });
    await kube.create(sandboxManifest(ns, "y"));
    await sandboxReady(kube, ns, "y");
    await waitFor(
      () => {
        const s = router.router.caches.sandboxes.get(ns, "y");
        return s && s.metadata.uid !== oldUid && s.status?.podIPs?.length;
      },
      { message: "router sees the new raw y" },
    );
    const res = await run(rawToken, "y");
    expect(res.status).toBe(403);
    expect(res.dialled).toEqual([]);
  });
});

describe("a token from before identity binding", () => {
  it("is refused with 401 and told to get a new one", async () => {
    const nameOnly = await new SignJWT({ ns, name: "x" })
      .setProtectedHeader({ alg: "HS256" })
      .setIssuer(SCOPED_TOKEN_ISSUER)
      .setAudience("sandbox")
      .setExpirationTime("10m")
      .sign(SIGNING_KEY);
    const res = await run(nameOnly, "x");
    expect(res.status).toBe(401);
    expect(res.body.error?.message).toContain("ask for a new one");
    expect(res.dialled).toEqual([]);
  });
});
