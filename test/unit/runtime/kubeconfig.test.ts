// The cluster config loader on real files: kubeconfigs (merged like $KUBECONFIG), the in-cluster
// service account layout, the default search order, and an error naming the field or file for
// each kind of bad input.
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { stringify } from "yaml";
import { beforeEach, describe, expect, it } from "vitest";
import { loadDefaultConfig, loadInClusterConfig, loadKubeConfigFiles, KubeConfigError } from "../../../src/runtime/kubeconfig.js";

const PEM = "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n";
const KEY = "-----BEGIN PRIVATE KEY-----\nMIIBfake\n-----END PRIVATE KEY-----\n";
const b64 = (s: string): string => Buffer.from(s).toString("base64");

let dir = "";
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), "kubeconfig-test-"));
});

function write(name: string, content: unknown): string {
  const p = path.join(dir, name);
  mkdirSync(path.dirname(p), { recursive: true });
  writeFileSync(p, typeof content === "string" ? content : stringify(content));
  return p;
}

function kubeconfig(
  over: { cluster?: Record<string, unknown>; user?: Record<string, unknown> | null; current?: string; extraContexts?: unknown[] } = {},
): Record<string, unknown> {
  return {
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "c1", cluster: { server: "https://api.example:6443", "certificate-authority-data": b64(PEM), ...over.cluster } }],
    users: over.user === null ? [] : [{ name: "u1", user: { token: "tok-1", ...over.user } }],
    contexts: [{ name: "ctx1", context: { cluster: "c1", user: "u1", namespace: "team-a" } }, ...(over.extraContexts ?? [])],
    "current-context": over.current ?? "ctx1",
  };
}

describe("loadKubeConfigFiles", () => {
  it("reads server, CA, token and namespace of the current context", () => {
    const f = write("config", kubeconfig());
    const cfg = loadKubeConfigFiles([f]);
    expect(cfg.server).toBe("https://api.example:6443");
    expect(cfg.ca?.toString()).toBe(PEM);
    expect(cfg.credential).toEqual({ type: "token", token: "tok-1" });
    expect(cfg.namespace).toBe("team-a");
    expect(cfg.insecureSkipTLSVerify).toBe(false);
    expect(cfg.source).toContain("context ctx1");
  });

  it("resolves relative certificate, key and token files against the kubeconfig's directory", () => {
    write("sub/ca.crt", PEM);
    write("sub/client.crt", PEM);
    write("sub/client.key", KEY);
    write("sub/token", "file-token\n");
    const f = write(
      "sub/config",
      kubeconfig({
        cluster: {
          "certificate-authority-data": undefined,
          "certificate-authority": "ca.crt",
          "tls-server-name": "kubernetes.default",
          "insecure-skip-tls-verify": false,
        },
        user: {
          token: undefined,
          tokenFile: "token",
          "client-certificate": "client.crt",
          "client-key": "client.key",
          as: "bob",
          "as-groups": ["devs"],
        },
      }),
    );
    const cfg = loadKubeConfigFiles([f]);
    expect(cfg.ca?.toString()).toBe(PEM);
    expect(cfg.tlsServerName).toBe("kubernetes.default");
    expect(cfg.clientCert?.key.toString()).toBe(KEY);
    expect(cfg.credential).toEqual({ type: "tokenFile", path: path.join(dir, "sub", "token") });
    expect(cfg.impersonateUser).toBe("bob");
    expect(cfg.impersonateGroups).toEqual(["devs"]);
  });

  it("reads basic auth, inline client certificates and exec plugins", () => {
    const basic = loadKubeConfigFiles([write("basic", kubeconfig({ user: { token: undefined, username: "admin", password: "s3cret" } }))]);
    expect(basic.credential).toEqual({ type: "basic", username: "admin", password: "s3cret" });
    const certs = loadKubeConfigFiles([
      write("certs", kubeconfig({ user: { token: undefined, "client-certificate-data": b64(PEM), "client-key-data": b64(KEY) } })),
    ]);
    expect(certs.clientCert?.cert.toString()).toBe(PEM);
    expect(certs.credential).toEqual({ type: "none" });
    const exec = loadKubeConfigFiles([
      write(
        "exec",
        kubeconfig({
          user: {
            token: undefined,
            exec: {
              apiVersion: "client.authentication.k8s.io/v1beta1",
              command: "gke-gcloud-auth-plugin",
              args: ["--x"],
              env: [{ name: "A", value: "1" }],
              provideClusterInfo: true,
              installHint: "install it",
              interactiveMode: "IfAvailable",
            },
          },
        }),
      ),
    ]);
    expect(exec.credential).toMatchObject({
      type: "exec",
      exec: {
        command: "gke-gcloud-auth-plugin",
        args: ["--x"],
        env: [{ name: "A", value: "1" }],
        apiVersion: "client.authentication.k8s.io/v1beta1",
        provideClusterInfo: true,
        cwd: dir,
      },
    });
  });

  it("uses the context asked for instead of current-context", () => {
    const f = write("config", kubeconfig({ extraContexts: [{ name: "other", context: { cluster: "c1" } }] }));
    const cfg = loadKubeConfigFiles([f], { context: "other" });
    expect(cfg.credential).toEqual({ type: "none" });
    expect(cfg.namespace).toBeUndefined();
  });

  it("merges several files like $KUBECONFIG: the first definition of a name and the first current-context win", () => {
    const a = write("a", { clusters: [{ name: "c1", cluster: { server: "https://first:1" } }], "current-context": "ctx1" });
    const b = write("b", kubeconfig({ current: "elsewhere" }));
    const cfg = loadKubeConfigFiles([a, b]);
    expect(cfg.server).toBe("https://first:1");
    expect(cfg.credential).toEqual({ type: "token", token: "tok-1" });
  });

  it("names what is wrong", () => {
    const load = (content: unknown, opts = {}): unknown => loadKubeConfigFiles([write(`bad-${Math.random()}`, content)], opts);
    const err = (content: unknown, opts = {}): string => {
      try {
        load(content, opts);
      } catch (e) {
        expect(e).toBeInstanceOf(KubeConfigError);
        return (e as Error).message;
      }
      throw new Error("expected an error");
    };
    expect(err("clusters: [unclosed")).toMatch(/not valid YAML/);
    expect(err({ ...kubeconfig(), "current-context": undefined })).toMatch(/no current-context/);
    expect(err(kubeconfig(), { context: "nope" })).toMatch(/context "nope" is not defined \(contexts: ctx1\)/);
    expect(err({ ...kubeconfig(), clusters: [] })).toMatch(/cluster "c1" is not defined/);
    expect(err(kubeconfig({ user: null }))).toMatch(/user "u1" is not defined/);
    expect(err({ ...kubeconfig(), clusters: [{ name: "c1", cluster: {} }] })).toMatch(/clusters\[0\]\.cluster\.server/);
    expect(err({ ...kubeconfig(), users: [{ name: "u1", user: { token: 42 } }] })).toMatch(/users\[0\]\.user\.token/);
    expect(err(kubeconfig({ cluster: { server: "not a url" } }))).toMatch(/clusters\[0\]\.cluster\.server: "not a url" is not a URL/);
    expect(err(kubeconfig({ cluster: { "proxy-url": "http://proxy:3128" } }))).toMatch(/proxy-url is not supported/);
    expect(err(kubeconfig({ cluster: { "certificate-authority-data": "!!!" } }))).toMatch(
      /certificate-authority-data: not base64 of a PEM/,
    );
    expect(err(kubeconfig({ cluster: { "certificate-authority-data": undefined, "certificate-authority": "missing.crt" } }))).toMatch(
      /certificate-authority: cannot read .*missing\.crt/,
    );
    expect(err(kubeconfig({ user: { "client-certificate-data": b64(PEM) } }))).toMatch(/client-certificate is set but client-key is not/);
    expect(err(kubeconfig({ user: { username: "x", password: "y" } }))).toMatch(
      /more than one credential is set \(token, username\/password\)/,
    );
    expect(err(kubeconfig({ user: { token: undefined, tokenFile: "nowhere" } }))).toMatch(/tokenFile: .*nowhere does not exist/);
    expect(err(kubeconfig({ user: { token: undefined, "auth-provider": { name: "gcp" } } }))).toMatch(
      /users\[0\]\.user\.auth-provider is not supported/,
    );
    expect(
      err(kubeconfig({ user: { token: undefined, exec: { apiVersion: "client.authentication.k8s.io/v1alpha1", command: "x" } } })),
    ).toMatch(/exec\.apiVersion/);
    expect(
      err(
        kubeconfig({
          user: { token: undefined, exec: { apiVersion: "client.authentication.k8s.io/v1", command: "x", interactiveMode: "Always" } },
        }),
      ),
    ).toMatch(/interactiveMode is Always/);
    expect(() => loadKubeConfigFiles([path.join(dir, "absent")])).toThrow(/absent: cannot read it/);
  });
});

describe("loadInClusterConfig", () => {
  function serviceAccount(): string {
    const sa = path.join(dir, "sa");
    write("sa/token", "sa-token\n");
    write("sa/ca.crt", PEM);
    write("sa/namespace", "agent-sandbox-system");
    return sa;
  }

  it("reads the service account mount and the service host and port", () => {
    const cfg = loadInClusterConfig({
      dir: serviceAccount(),
      env: { KUBERNETES_SERVICE_HOST: "10.96.0.1", KUBERNETES_SERVICE_PORT: "443" },
    });
    expect(cfg.server).toBe("https://10.96.0.1:443");
    expect(cfg.ca?.toString()).toBe(PEM);
    // A file, not its content: bound tokens rotate and are read again.
    expect(cfg.credential).toEqual({ type: "tokenFile", path: path.join(dir, "sa", "token") });
    expect(cfg.namespace).toBe("agent-sandbox-system");
  });

  it("brackets an IPv6 service host", () => {
    const cfg = loadInClusterConfig({ dir: serviceAccount(), env: { KUBERNETES_SERVICE_HOST: "fd00::1", KUBERNETES_SERVICE_PORT: "443" } });
    expect(cfg.server).toBe("https://[fd00::1]:443");
  });

  it("names what is missing", () => {
    expect(() => loadInClusterConfig({ dir: serviceAccount(), env: {} })).toThrow(/KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT/);
    expect(() =>
      loadInClusterConfig({ dir: path.join(dir, "none"), env: { KUBERNETES_SERVICE_HOST: "h", KUBERNETES_SERVICE_PORT: "1" } }),
    ).toThrow(/token .*does not exist/);
    write("noca/token", "t");
    expect(() =>
      loadInClusterConfig({ dir: path.join(dir, "noca"), env: { KUBERNETES_SERVICE_HOST: "h", KUBERNETES_SERVICE_PORT: "1" } }),
    ).toThrow(/CA: cannot read .*ca\.crt/);
  });
});

describe("loadDefaultConfig", () => {
  it("prefers --kubeconfig, then $KUBECONFIG, then in-cluster, then ~/.kube/config", () => {
    const explicit = write("explicit", kubeconfig({ cluster: { server: "https://explicit:1" } }));
    const fromEnv = write("env", kubeconfig({ cluster: { server: "https://env:1" } }));
    write("home/.kube/config", kubeconfig({ cluster: { server: "https://home:1" } }));
    write("sa/token", "t");
    write("sa/ca.crt", PEM);
    const home = path.join(dir, "home");
    const sa = path.join(dir, "sa");
    const inCluster = { KUBERNETES_SERVICE_HOST: "10.0.0.1", KUBERNETES_SERVICE_PORT: "443" };
    const load = (env: NodeJS.ProcessEnv, kubeconfigFlag?: string): string =>
      loadDefaultConfig({ env, home, serviceAccountDir: sa, kubeconfig: kubeconfigFlag }).server;
    expect(load({ ...inCluster, KUBECONFIG: fromEnv }, explicit)).toBe("https://explicit:1");
    expect(load({ ...inCluster, KUBECONFIG: `${path.join(dir, "absent")}${path.delimiter}${fromEnv}` })).toBe("https://env:1");
    expect(load(inCluster)).toBe("https://10.0.0.1:443");
    expect(load({})).toBe("https://home:1");
    expect(() => loadDefaultConfig({ env: {}, home: path.join(dir, "nohome"), serviceAccountDir: sa })).toThrow(
      /no Kubernetes configuration found/,
    );
    expect(() => loadDefaultConfig({ env: { KUBECONFIG: path.join(dir, "absent") }, home })).toThrow(/KUBECONFIG names no existing file/);
  });
});
