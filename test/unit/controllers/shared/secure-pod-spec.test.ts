import type { V1Container, V1PodSpec } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { withSecureDefaults } from "../../../../src/controllers/shared/secure-pod-spec.js";
import { testConfig } from "../fixtures.js";

const cfg = testConfig;
const hardened = {
  allowPrivilegeEscalation: false,
  privileged: false,
  capabilities: { drop: ["ALL"] },
  seccompProfile: { type: "RuntimeDefault" },
};

function spec(container: Partial<V1Container> = {}, pod: Partial<V1PodSpec> = {}): V1PodSpec {
  return { containers: [{ name: "main", image: "busybox", ...container }], ...pod };
}

function only(s: V1PodSpec): V1Container {
  const c = s.containers[0];
  if (!c) throw new Error("no container");
  return c;
}

describe("withSecureDefaults: defaults when unset", () => {
  const out = withSecureDefaults(spec(), cfg);

  it("sets the configured runtime class", () => {
    expect(out.runtimeClassName).toBe("gvisor-test");
  });

  it("disables the service account token and service links", () => {
    expect(out.automountServiceAccountToken).toBe(false);
    expect(out.enableServiceLinks).toBe(false);
  });

  it("runs the pod as the configured non-root user with RuntimeDefault seccomp", () => {
    expect(out.securityContext).toEqual({
      runAsNonRoot: true,
      runAsUser: 4321,
      runAsGroup: 4321,
      fsGroup: 4321,
      seccompProfile: { type: "RuntimeDefault" },
    });
  });

  it("hardens each container and gives it the default requests and limits", () => {
    const c = only(out);
    expect(c.securityContext).toEqual(hardened);
    expect(c.resources?.requests).toEqual(cfg.defaultResources.requests);
    expect(c.resources?.limits).toEqual(cfg.defaultResources.limits);
  });

  it("keeps the container's other fields", () => {
    expect(only(out)).toMatchObject({ name: "main", image: "busybox" });
  });

  it("hardens init containers too", () => {
    const s = withSecureDefaults(spec({}, { initContainers: [{ name: "init", image: "busybox" }] }), cfg);
    const init = s.initContainers?.[0];
    expect(init?.securityContext).toEqual(hardened);
    expect(init?.resources?.limits).toEqual(cfg.defaultResources.limits);
    expect(init?.resources?.requests).toEqual(cfg.defaultResources.requests);
  });

  it("leaves initContainers absent when the spec has none", () => {
    expect(out.initContainers).toBeUndefined();
  });
});

describe("withSecureDefaults: deliberate overrides are kept", () => {
  it("keeps an explicit runtimeClassName", () => {
    expect(withSecureDefaults(spec({}, { runtimeClassName: "kata" }), cfg).runtimeClassName).toBe("kata");
  });

  it("sets no runtime class when the configured default is empty", () => {
    const out = withSecureDefaults(spec(), { ...cfg, defaultRuntimeClassName: "" });
    expect(out.runtimeClassName).toBeUndefined();
    expect("runtimeClassName" in out).toBe(false);
  });

  it("keeps automountServiceAccountToken and enableServiceLinks set to true", () => {
    const out = withSecureDefaults(spec({}, { automountServiceAccountToken: true, enableServiceLinks: true }), cfg);
    expect(out.automountServiceAccountToken).toBe(true);
    expect(out.enableServiceLinks).toBe(true);
  });

  it("keeps pod securityContext fields field by field, defaulting the rest", () => {
    const out = withSecureDefaults(
      spec({}, { securityContext: { runAsUser: 0, runAsNonRoot: false, seccompProfile: { type: "Unconfined" }, supplementalGroups: [5] } }),
      cfg,
    );
    expect(out.securityContext).toEqual({
      runAsNonRoot: false,
      runAsUser: 0,
      runAsGroup: 4321,
      fsGroup: 4321,
      seccompProfile: { type: "Unconfined" },
      supplementalGroups: [5],
    });
  });

  it("keeps container securityContext fields field by field, defaulting the rest", () => {
    const out = withSecureDefaults(
      spec({ securityContext: { privileged: true, capabilities: { add: ["NET_ADMIN"] }, readOnlyRootFilesystem: true } }),
      cfg,
    );
    expect(only(out).securityContext).toEqual({
      allowPrivilegeEscalation: false,
      privileged: true,
      capabilities: { add: ["NET_ADMIN"] },
      seccompProfile: { type: "RuntimeDefault" },
      readOnlyRootFilesystem: true,
    });
  });

  it("keeps allowPrivilegeEscalation true when set", () => {
    const out = withSecureDefaults(spec({ securityContext: { allowPrivilegeEscalation: true } }), cfg);
    expect(only(out).securityContext?.allowPrivilegeEscalation).toBe(true);
  });

  it("keeps both requests and limits when both are set", () => {
    const resources = { requests: { cpu: "2", memory: "3Gi" }, limits: { cpu: "4", memory: "5Gi" } };
    const out = withSecureDefaults(spec({ resources }), cfg);
    expect(only(out).resources).toEqual(resources);
  });

  it("with only limits, sets no requests (the API server copies the limits)", () => {
    const out = withSecureDefaults(spec({ resources: { limits: { cpu: "50m", memory: "64Mi" } } }), cfg);
    expect(only(out).resources?.limits).toEqual({ cpu: "50m", memory: "64Mi" });
    // Default requests (100m / 256Mi) would exceed these limits and be rejected.
    expect(only(out).resources?.requests).toBeUndefined();
  });

  it("with only requests, keeps them and never sets a limit below them", () => {
    const requests = { cpu: "3", memory: "8Gi" };
    const out = withSecureDefaults(spec({ resources: { requests } }), cfg);
    const r = only(out).resources;
    expect(r?.requests).toEqual(requests);
    expect(r?.limits).toEqual({ cpu: "3", memory: "8Gi", "ephemeral-storage": cfg.defaultResources.limits["ephemeral-storage"] });
  });

  it("with only a small request, uses it as the limit for that resource and the default for the others", () => {
    const out = withSecureDefaults(spec({ resources: { requests: { cpu: "10m" } } }), cfg);
    expect(only(out).resources?.limits).toEqual({ ...cfg.defaultResources.limits, cpu: "10m" });
  });

  it("treats an empty resources object as unset", () => {
    const out = withSecureDefaults(spec({ resources: {} }), cfg);
    expect(only(out).resources).toEqual(cfg.defaultResources);
  });

  it("keeps other resource fields such as claims", () => {
    const out = withSecureDefaults(spec({ resources: { claims: [{ name: "gpu" }] } }), cfg);
    expect(only(out).resources?.claims).toEqual([{ name: "gpu" }]);
    expect(only(out).resources?.limits).toEqual(cfg.defaultResources.limits);
  });

  it("applies per container: one with resources, one without", () => {
    const s: V1PodSpec = {
      containers: [{ name: "a", resources: { requests: { cpu: "1" }, limits: { cpu: "1" } } }, { name: "b" }],
    };
    const out = withSecureDefaults(s, cfg);
    expect(out.containers[0]?.resources).toEqual({ requests: { cpu: "1" }, limits: { cpu: "1" } });
    expect(out.containers[1]?.resources).toEqual(cfg.defaultResources);
  });
});

describe("withSecureDefaults: purity", () => {
  it("does not mutate its input", () => {
    const input = spec(
      { resources: { requests: { cpu: "1" } }, securityContext: { runAsUser: 7 } },
      { initContainers: [{ name: "init" }], securityContext: { fsGroup: 9 } },
    );
    const before = structuredClone(input);
    withSecureDefaults(input, cfg);
    expect(input).toEqual(before);
  });
});
