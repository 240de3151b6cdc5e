// Deleting a Sandbox takes everything it made with it, and an expired one removes itself.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apply, clusterEnv, createNamespace, kubectlOk, type ClusterEnv } from "../harness/cluster.js";
import { deleteNamespaceAndWait, getJson, sandboxManifest, waitGone, waitReady } from "./helpers.js";

/** RFC 3339 without fractions, as the CRD's date-time fields are written by users. */
const inSeconds = (s: number): string => new Date(Date.now() + s * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");

describe("Sandbox deletion and expiry", () => {
  let env: ClusterEnv;
  let ns: string;

  beforeAll(async () => {
    env = await clusterEnv();
    ns = await createNamespace(env, "e2e-op-life");
  });

  afterAll(async () => {
    if (env && ns) await deleteNamespaceAndWait(env, ns);
  });

  it("deleting the Sandbox removes its pod, service and network policy (and it never had a token Secret)", async () => {
    await apply(env, sandboxManifest({ name: "doomed", namespace: ns, image: env.runtimeImage, service: true }));
    const sandbox = await waitReady(env, ns, "sandbox", "doomed");
    const children: [string, string][] = [
      ["pod", "doomed"],
      ["service", "doomed"],
      ["networkpolicy", "doomed"],
    ];
    // The execution server checks router-signed tokens; nothing secret is made for it.
    expect(await getJson(env, ns, "secret", "doomed-execd-token")).toBeUndefined();
    for (const [kind, name] of children) {
      const child = await getJson(env, ns, kind, name);
      expect(child, `${kind}/${name} exists`).toBeDefined();
      // Owned by the Sandbox, so the garbage collector cascades.
      expect(
        child?.metadata.ownerReferences?.find((o) => o.controller),
        `${kind}/${name} owner`,
      ).toMatchObject({ kind: "Sandbox", name: "doomed", uid: sandbox.metadata.uid });
    }

    await kubectlOk(env, ["-n", ns, "delete", "sandbox", "doomed", "--wait=false"]);
    await waitGone(env, ns, "sandbox", "doomed");
    for (const [kind, name] of children) await waitGone(env, ns, kind, name);
    for (const [kind, name] of children) expect(await getJson(env, ns, kind, name), `${kind}/${name} gone`).toBeUndefined();
  });

  it("shutdownTime expiry: policy Delete removes the Sandbox and its pod; policy Retain keeps the Sandbox, removes the pod", async () => {
    // Far enough ahead that both pods are Running first, so their removal is the expiry's doing.
    const expiry = inSeconds(15);
    await apply(
      env,
      sandboxManifest({
        name: "ephemeral",
        namespace: ns,
        image: env.runtimeImage,
        extraSpec: { shutdownTime: expiry, shutdownPolicy: "Delete" },
      }),
    );
    await apply(
      env,
      sandboxManifest({
        name: "kept",
        namespace: ns,
        image: env.runtimeImage,
        extraSpec: { shutdownTime: expiry, shutdownPolicy: "Retain" },
      }),
    );
    await Promise.all([waitReady(env, ns, "sandbox", "ephemeral", 60_000), waitReady(env, ns, "sandbox", "kept", 60_000)]);
    expect(await getJson(env, ns, "pod", "ephemeral")).toBeDefined();
    expect(await getJson(env, ns, "pod", "kept")).toBeDefined();

    await waitGone(env, ns, "sandbox", "ephemeral", 90_000);
    await waitGone(env, ns, "pod", "ephemeral", 60_000);
    await waitGone(env, ns, "pod", "kept", 60_000);
    expect(Date.now()).toBeGreaterThanOrEqual(Date.parse(expiry));
    expect(await getJson(env, ns, "sandbox", "ephemeral")).toBeUndefined();
    expect(await getJson(env, ns, "pod", "ephemeral")).toBeUndefined();
    const kept = await getJson(env, ns, "sandbox", "kept");
    expect(kept).toBeDefined();
    expect(kept?.metadata.deletionTimestamp).toBeUndefined();
    expect(await getJson(env, ns, "pod", "kept")).toBeUndefined();
  });
});
