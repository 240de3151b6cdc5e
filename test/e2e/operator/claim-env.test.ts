// A claim's env on the real cluster (gVisor, NetworkPolicies enforced): the SDK claims through
// the router with a literal and a Secret variable, the warm member is served without a new pod,
// the operator delivers the env to its execution server (admitted on the execution port by the
// sandbox's NetworkPolicy), and Python and JavaScript see it on the first call. A claim naming a
// Secret that does not exist says so; the value is in no pod spec and no operator log.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SandboxClient } from "../../../src/client/index.js";
import { apply, clusterEnv, createNamespace, kubectl, kubectlOk, waitFor, type ClusterEnv } from "../harness/cluster.js";
import {
  EXT_API,
  OPERATOR_NS,
  agentToken,
  deleteNamespaceAndWait,
  getJson,
  isReady,
  list,
  mainPodSpec,
  routerUrl,
  type KObject,
} from "./helpers.js";

const POOL = "env-pool";
const SECRET_VALUE = `e2e-s3cret-${Date.now().toString(36)}`;

describe("claim env delivered to a warm gVisor sandbox", () => {
  let env: ClusterEnv;
  let ns: string;
  let token: string;

  beforeAll(async () => {
    env = await clusterEnv();
    ns = await createNamespace(env, "e2e-op-env");
    await apply(
      env,
      JSON.stringify({
        apiVersion: EXT_API,
        kind: "SandboxTemplate",
        metadata: { name: "python", namespace: ns },
        spec: { envVarsInjectionPolicy: "Allowed", podTemplate: { spec: mainPodSpec(env.runtimeImage) } },
      }),
    );
    await apply(
      env,
      JSON.stringify({
        apiVersion: EXT_API,
        kind: "SandboxWarmPool",
        metadata: { name: POOL, namespace: ns },
        spec: { replicas: 1, sandboxTemplateRef: { name: "python" } },
      }),
    );
    await kubectlOk(env, ["-n", ns, "create", "secret", "generic", "llm", `--from-literal=api-key=${SECRET_VALUE}`]);
    token = await agentToken(env, ns, "agent", true);
    const claims = "--resource=sandboxclaims.extensions.agents.x-k8s.io";
    await kubectlOk(env, ["-n", ns, "create", "role", "agent-claims", "--verb=get,list,create,delete", claims]);
    await kubectlOk(env, ["-n", ns, "create", "rolebinding", "agent-claims", "--role=agent-claims", `--serviceaccount=${ns}:agent`]);
  }, 120_000);

  afterAll(async () => {
    if (env && ns) await deleteNamespaceAndWait(env, ns);
  });

  it("serves the claim from the warm pod, and the first Python and JavaScript calls see the variables", async () => {
    let memberPods: KObject[] = [];
    await waitFor(
      async () => {
        memberPods = (await list(env, ns, "pod")).filter(isReady);
        return (await getJson(env, ns, "sandboxwarmpool", POOL))?.status?.readyReplicas === 1 && memberPods.length === 1;
      },
      150_000,
      "one Ready warm member",
    );
    const warmPodUid = memberPods[0]?.metadata.uid ?? "";
    const warmPodName = memberPods[0]?.metadata.name ?? "";
    expect(warmPodUid).not.toBe("");

    const client = new SandboxClient({ routerUrl: await routerUrl(env), token, namespace: ns });
    const sb = await client.createSandbox({
      warmPool: POOL,
      ttlSeconds: 600,
      env: [
        { name: "GREETING", value: "hello from the claim" },
        { name: "LLM_API_KEY", valueFrom: { secretKeyRef: { name: "llm", key: "api-key" } } },
      ],
      timeoutMs: 90_000,
    });
    const py = await sb.run("import os\nprint(os.environ['LLM_API_KEY'], os.environ['GREETING'])");
    expect(py.stdout.trim()).toBe(`${SECRET_VALUE} hello from the claim`);
    const js = await sb.run("console.log(process.env.LLM_API_KEY + ' ' + process.env.GREETING)", { language: "javascript" });
    expect(js.stdout.trim()).toBe(`${SECRET_VALUE} hello from the claim`);

    // The bound Sandbox runs in the very pod that was warm before the claim.
    const claim = await getJson(env, ns, "sandboxclaim", sb.id);
    const bound = claim?.status?.sandbox?.name ?? "";
    expect(bound).toBe(warmPodName);
    const pod = await getJson(env, ns, "pod", bound);
    expect(pod?.metadata.uid).toBe(warmPodUid);

    // The value is in no pod spec, no claim or Sandbox, and no operator or execution-server log.
    const pods = await kubectlOk(env, ["-n", ns, "get", "pods", "-o", "json"]);
    expect(pods).not.toContain(SECRET_VALUE);
    const objects = await kubectlOk(env, ["-n", ns, "get", "sandboxclaims,sandboxes,events", "-o", "json"]);
    expect(objects).not.toContain(SECRET_VALUE);
    const operatorLogs = await kubectlOk(env, ["-n", OPERATOR_NS, "logs", "-l", "app.kubernetes.io/component=operator", "--tail=-1"]);
    expect(operatorLogs).toContain("Delivered claim env");
    expect(operatorLogs).toContain("LLM_API_KEY");
    expect(operatorLogs).not.toContain(SECRET_VALUE);
    const execdLogs = await kubectlOk(env, ["-n", ns, "logs", bound, "-c", "sandbox-execd"]);
    expect(execdLogs).toContain("environment set");
    expect(execdLogs).not.toContain(SECRET_VALUE);
    await sb.delete();
  });

  it("names a Secret that does not exist on the claim", async () => {
    await apply(
      env,
      JSON.stringify({
        apiVersion: EXT_API,
        kind: "SandboxClaim",
        metadata: { name: "wrong-secret", namespace: ns },
        spec: {
          warmPoolRef: { name: POOL },
          env: [{ name: "LLM_API_KEY", valueFrom: { secretKeyRef: { name: "no-such-secret", key: "api-key" } } }],
        },
      }),
    );
    let message = "";
    await waitFor(
      async () => {
        const ready = (await getJson(env, ns, "sandboxclaim", "wrong-secret"))?.status?.conditions?.find((c) => c.type === "Ready");
        message = ready?.message ?? "";
        return ready?.status === "False" && ready.reason === "EnvSecretNotFound";
      },
      60_000,
      "the claim to report its missing Secret",
    );
    expect(message).toContain('Secret "no-such-secret" not found');
    const describe = await kubectl(env, ["-n", ns, "get", "events", "--field-selector", "involvedObject.name=wrong-secret", "-o", "json"]);
    expect(describe.stdout).toContain("EnvSecretNotFound");
  });
});
