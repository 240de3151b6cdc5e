// The "template-image" execd runtime: code runs with the template's own image and packages.
import { describe, expect, it } from "vitest";
import { desiredPod, execdRuntime } from "../../../../src/controllers/sandbox/desired-pod.js";
import { makeSandbox, owner, testConfig } from "../fixtures.js";

const templateImage = "registry.example/data-science:3.12";

function sandboxWith(annotations: Record<string, string> | undefined, where: "sandbox" | "podTemplate") {
  return makeSandbox({
    ...(where === "sandbox" && annotations ? { annotations } : {}),
    spec: {
      podTemplate: {
        ...(where === "podTemplate" && annotations ? { metadata: { annotations } } : {}),
        spec: { containers: [{ name: "main", image: templateImage }] },
      },
    },
  });
}

describe("execd runtime selection", () => {
  it("defaults to the execd image", () => {
    const pod = desiredPod(sandboxWith(undefined, "sandbox"), owner, testConfig);
    const execd = pod.spec?.initContainers?.find((c) => c.name === "sandbox-execd");
    expect(execd?.image).toBe(testConfig.execdImage);
    expect(execd?.command).toBeUndefined();
    // The sidecar alone: no install step when the server runs from its own image.
    expect(pod.spec?.initContainers?.map((c) => c.name)).toEqual(["sandbox-execd"]);
  });

  it.each(["sandbox", "podTemplate"] as const)("runs the server in the template's image when the %s asks for it", (where) => {
    const sandbox = sandboxWith({ "agents.x-k8s.io/execd-runtime": "template-image" }, where);
    expect(execdRuntime(sandbox)).toBe("template-image");
    const pod = desiredPod(sandbox, owner, testConfig);
    const execd = pod.spec?.initContainers?.find((c) => c.name === "sandbox-execd");
    expect(execd?.image).toBe(templateImage);
    expect(execd?.command).toEqual(["/opt/agent-sandbox/node", "/opt/agent-sandbox/execd-bundle/sandbox-execd.mjs"]);
    expect(execd?.args).toEqual(
      expect.arrayContaining(["--port", String(testConfig.execPort), "--sandbox", "ns/sb/uid-sb", "--trusted-key", "key-one"]),
    );
    expect(execd?.volumeMounts).toEqual(
      expect.arrayContaining([{ name: "sandbox-execd-bin", mountPath: "/opt/agent-sandbox", readOnly: true }]),
    );

    // The install step copies the server before the sidecar starts: init containers start in order.
    expect(pod.spec?.initContainers?.map((c) => c.name)).toEqual(["sandbox-execd-install", "sandbox-execd"]);
    const install = pod.spec?.initContainers?.find((c) => c.name === "sandbox-execd-install");
    expect(install?.image).toBe(testConfig.execdImage);
    expect(install?.command?.join(" ")).toContain("cp -a /usr/local/bin/node /app/dist/execd-bundle /opt/agent-sandbox/");
    // The copy step is hardened and bounded like every other container.
    expect(install?.securityContext).toMatchObject({ allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } });
    expect(install?.resources?.limits).toBeDefined();
    expect(pod.spec?.volumes).toEqual(expect.arrayContaining([{ name: "sandbox-execd-bin", emptyDir: {} }]));
  });

  it("ignores unknown values", () => {
    expect(execdRuntime(sandboxWith({ "agents.x-k8s.io/execd-runtime": "something-else" }, "sandbox"))).toBe("runtime");
  });
});
