// A template can bring its own runtime image: with agents.x-k8s.io/execd-runtime=template-image
// the execution server runs in the template's image (here the toolbox image, which has Python
// and pandas but no Node and no /app), so code runs with that image's interpreters.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apply, clusterEnv, createNamespace, type ClusterEnv } from "../harness/cluster.js";
import { SANDBOX_API, agentToken, deleteNamespaceAndWait, executeOk, getJson, mainPodSpec, routerUrl, waitReady } from "./helpers.js";

describe("execd in the template's own image", () => {
  let env: ClusterEnv;
  let ns: string;
  let token: string;

  beforeAll(async () => {
    env = await clusterEnv();
    ns = await createNamespace(env, "e2e-op-image");
    token = await agentToken(env, ns, "agent", true);
  });
  afterAll(async () => {
    if (env && ns) await deleteNamespaceAndWait(env, ns);
  });

  it("runs code with the template image's Python, not the execd image's", async () => {
    for (const [name, annotations] of [
      ["own-image", { "agents.x-k8s.io/execd-runtime": "template-image" }],
      ["default-image", {}],
    ] as const) {
      await apply(
        env,
        JSON.stringify({
          apiVersion: SANDBOX_API,
          kind: "Sandbox",
          metadata: { name, namespace: ns, annotations },
          spec: { podTemplate: { spec: mainPodSpec(env.toolboxImage) } },
        }),
      );
    }
    await waitReady(env, ns, "sandbox", "own-image", 180_000);
    await waitReady(env, ns, "sandbox", "default-image", 180_000);
    const pod = await getJson<{ spec: { initContainers?: Array<{ name: string; image: string }> } }>(env, ns, "pod", "own-image");
    expect(pod?.spec.initContainers?.find((c) => c.name === "sandbox-execd")?.image).toBe(env.toolboxImage);

    const router = await routerUrl(env);
    const probe = "import os, pandas\nprint(os.path.isdir('/app'), os.path.isfile('/usr/local/bin/node'), pandas.__version__ != '')";
    // The toolbox image has neither /app nor /usr/local/bin/node; the execd image has both.
    expect((await executeOk(router, ns, "own-image", probe, token)).trim()).toBe("False False True");
    expect((await executeOk(router, ns, "default-image", probe, token)).trim()).toBe("True True True");
    // State is kept between calls in the template-image runtime too.
    await executeOk(router, ns, "own-image", "answer = 6 * 7", token);
    expect((await executeOk(router, ns, "own-image", "print(answer)", token)).trim()).toBe("42");
  });
});
