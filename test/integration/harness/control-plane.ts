// Starts a real control plane on loopback in a temp dir: etcd, kube-apiserver (RBAC, static
// tokens, service-account signing), kube-controller-manager (garbage collector, namespace and
// service-account controllers), kube-scheduler and kwok (drives pods on fake nodes to Ready).
// Used by the vitest global setup and reusable by benchmarks.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { KubeConfig } from "@kubernetes/client-node";
import { parseAllDocuments, stringify } from "yaml";
import { Kube } from "../../../src/runtime/kube.js";
import { makePki } from "./pki.js";
import { freePort, startProcess, stopProcess, waitUntil, type Proc } from "./processes.js";

const REPO = fileURLToPath(new URL("../../..", import.meta.url));

export interface UserInfo {
  name: string;
  token: string;
  kubeconfig: string;
}

export interface ClusterInfo {
  dir: string;
  server: string;
  caFile: string;
  /** Admin kubeconfig path (system:masters). */
  kubeconfig: string;
  /** Ordinary users without any RBAC grants: alice, bob, carol, dave. */
  users: Record<string, UserInfo>;
  etcdUrl: string;
  saKeyFile: string;
  /** Name of the kwok-managed fake node (tainted kwok.x-k8s.io/node=fake:NoSchedule), or "" without kwok. */
  fakeNode: string;
  bin: { k8s: string; etcd: string; kwok: string };
}

export interface ControlPlane {
  info: ClusterInfo;
  stop(): Promise<void>;
  /**
   * Fault injection: SIGKILL etcd (or SIGTERM with graceful) and start it again on the same
   * ports and data dir; resolves once it is healthy. Clients see connection errors meanwhile.
   */
  restartEtcd(opts?: { downMs?: number; graceful?: boolean }): Promise<void>;
  /** Same for kube-apiserver: every watch breaks, and its watch cache starts anew from etcd. */
  restartApiServer(opts?: { downMs?: number; graceful?: boolean }): Promise<void>;
  /** Compacts etcd up to its current revision, so resuming any older watch answers 410 Gone. */
  compactEtcd(): Promise<number>;
}

/** etcd's current revision, read through its v3 JSON gateway. */
export async function etcdRevision(etcdUrl: string): Promise<number> {
  const res = await fetch(`${etcdUrl}/v3/kv/range`, {
    method: "POST",
    body: JSON.stringify({ key: Buffer.from("/").toString("base64"), limit: 1 }),
  });
  if (!res.ok) throw new Error(`etcd range failed: ${res.status} ${await res.text()}`);
  const body = (await res.json()) as { header?: { revision?: string } };
  const rev = Number(body.header?.revision);
  if (!Number.isFinite(rev) || rev <= 0) throw new Error(`etcd range answered no revision: ${JSON.stringify(body)}`);
  return rev;
}

/** Physically compacts etcd to its current revision; returns that revision. */
export async function compactEtcd(etcdUrl: string): Promise<number> {
  const revision = await etcdRevision(etcdUrl);
  const res = await fetch(`${etcdUrl}/v3/kv/compaction`, { method: "POST", body: JSON.stringify({ revision, physical: true }) });
  if (!res.ok) throw new Error(`etcd compaction failed: ${res.status} ${await res.text()}`);
  return revision;
}

export const FAKE_NODE_ANNOTATION = "kwok.x-k8s.io/node";

export function binDirs(): { k8s: string; etcd: string; kwok: string } {
  const script = join(REPO, "scripts/lib/build-go-tools.sh");
  const out = execFileSync("bash", [script, "paths"], { encoding: "utf8" });
  const get = (k: string): string => {
    const m = new RegExp(`^${k}=(.*)$`, "m").exec(out);
    if (!m?.[1]) throw new Error(`build-go-tools.sh paths did not print ${k}`);
    return m[1];
  };
  return { k8s: get("K8S_BIN"), etcd: get("ETCD_BIN"), kwok: get("KWOK_BIN") };
}

function ensureBinaries(): { k8s: string; etcd: string; kwok: string } {
  let dirs = binDirs();
  const needed = [
    join(dirs.etcd, "etcd"),
    join(dirs.k8s, "kube-apiserver"),
    join(dirs.k8s, "kube-controller-manager"),
    join(dirs.k8s, "kube-scheduler"),
    join(dirs.kwok, "kwok"),
  ];
  if (needed.every((f) => existsSync(f))) return dirs;
  // Cached by version under /var/cache/agent-sandbox-ts; only the first run on a machine pays.
  console.error("[harness] control-plane binaries missing; running scripts/lib/build-go-tools.sh (slow the first time)");
  execFileSync("bash", [join(REPO, "scripts/lib/build-go-tools.sh"), "all"], { stdio: "inherit" });
  dirs = binDirs();
  const missing = needed.filter((f) => !existsSync(f));
  if (missing.length) throw new Error(`control-plane binaries still missing after build: ${missing.join(", ")}`);
  return dirs;
}

function writeKubeconfig(path: string, server: string, caFile: string, user: string, token: string): void {
  const cfg = {
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "test", cluster: { server, "certificate-authority-data": readFileSync(caFile).toString("base64") } }],
    users: [{ name: user, user: { token } }],
    contexts: [{ name: user, context: { cluster: "test", user } }],
    "current-context": user,
  };
  writeFileSync(path, stringify(cfg), { mode: 0o600 });
}

export function kubeFor(kubeconfigPath: string): Kube {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  return new Kube(kc);
}

export interface StartOptions {
  /** Start kube-scheduler + kwok with one fake node (default true). */
  kwok?: boolean;
  /** Directory with CRD YAML to install and wait for (default <repo>/crds). */
  crdDir?: string;
  log?: (msg: string) => void;
}

export async function startControlPlane(opts: StartOptions = {}): Promise<ControlPlane> {
  const log = opts.log ?? ((m: string) => console.error(`[harness] ${m}`));
  const bin = ensureBinaries();
  const dir = mkdtempSync(join(tmpdir(), "agent-sandbox-ts-cp-"));
  const procs: Proc[] = [];
  // If the runner dies without calling teardown, do not leave the control plane running.
  const killOnExit = (): void => {
    for (const p of procs) {
      try {
        process.kill(p.pid, "SIGKILL");
      } catch {
        /* already gone */
      }
    }
  };
  process.once("exit", killOnExit);
  const stop = async (): Promise<void> => {
    process.off("exit", killOnExit);
    // Reverse start order: clients of the API server first, etcd last.
    for (const p of [...procs].reverse()) await stopProcess(p);
    if (process.env["KEEP_TEST_CLUSTER_DIR"] !== "1") rmSync(dir, { recursive: true, force: true });
  };
  try {
    const pki = makePki(dir);
    const [etcdPort, peerPort, apiPort, kcmPort, schedPort] = [
      await freePort(),
      await freePort(),
      await freePort(),
      await freePort(),
      await freePort(),
    ];
    const etcdUrl = `http://127.0.0.1:${etcdPort}`;
    const server = `https://127.0.0.1:${apiPort}`;

    // Fresh random tokens per run; the file format is token,user,uid,"group1,group2".
    const tok = (): string => randomBytes(24).toString("hex");
    const users: Record<string, UserInfo> = {};
    const admin = { name: "admin", token: tok(), kubeconfig: join(dir, "admin.kubeconfig") };
    for (const name of ["alice", "bob", "carol", "dave"]) users[name] = { name, token: tok(), kubeconfig: join(dir, `${name}.kubeconfig`) };
    const lines = [
      `${admin.token},admin,uid-admin,"system:masters"`,
      ...Object.values(users).map((u) => `${u.token},${u.name},uid-${u.name}`),
    ];
    writeFileSync(join(dir, "tokens.csv"), lines.join("\n") + "\n", { mode: 0o600 });
    writeKubeconfig(admin.kubeconfig, server, pki.caCert, "admin", admin.token);
    for (const u of Object.values(users)) writeKubeconfig(u.kubeconfig, server, pki.caCert, u.name, u.token);

    log(`starting etcd on ${etcdUrl} (dir ${dir})`);
    const etcdArgs = [
      "--name=default",
      `--data-dir=${join(dir, "etcd")}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=http://127.0.0.1:${peerPort}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
      `--initial-cluster=default=http://127.0.0.1:${peerPort}`,
      "--unsafe-no-fsync=true",
      "--log-level=warn",
    ];
    const startEtcd = async (): Promise<Proc> => {
      const p = startProcess("etcd", join(bin.etcd, "etcd"), etcdArgs, dir);
      await waitUntil("etcd health", async () => (await fetch(`${etcdUrl}/health`)).ok, 30_000, p);
      return p;
    };
    const etcd = startProcess("etcd", join(bin.etcd, "etcd"), etcdArgs, dir);
    procs.push(etcd);
    await waitUntil("etcd health", async () => (await fetch(`${etcdUrl}/health`)).ok, 30_000, etcd);

    log(`starting kube-apiserver on ${server}`);
    const apiserverArgs = [
      `--etcd-servers=${etcdUrl}`,
      `--secure-port=${apiPort}`,
      "--bind-address=127.0.0.1",
      "--advertise-address=127.0.0.1",
      // A loopback advertise address makes the 'kubernetes' Endpoints write fail validation.
      "--endpoint-reconciler-type=none",
      `--cert-dir=${join(dir, "apiserver-certs")}`,
      `--tls-cert-file=${pki.servingCert}`,
      `--tls-private-key-file=${pki.servingKey}`,
      `--client-ca-file=${pki.caCert}`,
      `--token-auth-file=${join(dir, "tokens.csv")}`,
      "--authorization-mode=RBAC",
      "--service-cluster-ip-range=10.0.0.0/24",
      "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
      `--service-account-key-file=${pki.saKey}`,
      `--service-account-signing-key-file=${pki.saKey}`,
      "--allow-privileged=true",
      // As envtest: pods are accepted before the serviceaccount controller created "default".
      "--disable-admission-plugins=ServiceAccount",
      // No watch cache for podtemplates (unused by the operator): watches on them go to etcd, so a
      // test can compact etcd and provoke 410 Gone on an informer's resume.
      "--watch-cache-sizes=podtemplates#0",
      "--profiling=false",
      "--v=1",
    ];
    const apiserver = startProcess("kube-apiserver", join(bin.k8s, "kube-apiserver"), apiserverArgs, dir);
    procs.push(apiserver);
    const kube = kubeFor(admin.kubeconfig);
    const apiReady = (p: Proc): Promise<void> =>
      waitUntil("kube-apiserver /readyz", async () => (await kube.request<string>("GET", "/readyz")) === "ok", 120_000, p);
    await apiReady(apiserver);
    // CRDs before the controller manager: its garbage collector maps owner kinds through its
    // discovery, and one that starts before the CRDs exist backs off for tens of seconds on
    // "unable to get REST mapping" for Sandbox-owned children until its next rediscovery.
    await installCrds(kube, opts.crdDir ?? join(REPO, "crds"), log);

    log("starting kube-controller-manager");
    const kcm = startProcess(
      "kube-controller-manager",
      join(bin.k8s, "kube-controller-manager"),
      [
        `--kubeconfig=${admin.kubeconfig}`,
        "--leader-elect=false",
        // node-lifecycle-controller lifts the node.kubernetes.io/not-ready taint once kwok reports the
        // fake node Ready (without it no pod ever schedules there).
        "--controllers=garbage-collector-controller,namespace-controller,serviceaccount-controller,root-ca-certificate-publisher-controller,node-lifecycle-controller",
        `--root-ca-file=${pki.caCert}`,
        `--service-account-private-key-file=${pki.saKey}`,
        "--service-cluster-ip-range=10.0.0.0/24",
        "--bind-address=127.0.0.1",
        `--secure-port=${kcmPort}`,
        "--v=1",
      ],
      dir,
    );
    procs.push(kcm);

    let fakeNode = "";
    if (opts.kwok !== false) {
      log("starting kube-scheduler and kwok");
      const schedCfg = join(dir, "scheduler.yaml");
      writeFileSync(
        schedCfg,
        stringify({
          apiVersion: "kubescheduler.config.k8s.io/v1",
          kind: "KubeSchedulerConfiguration",
          clientConnection: { kubeconfig: admin.kubeconfig },
          leaderElection: { leaderElect: false },
        }),
      );
      procs.push(
        startProcess(
          "kube-scheduler",
          join(bin.k8s, "kube-scheduler"),
          [`--config=${schedCfg}`, "--bind-address=127.0.0.1", `--secure-port=${schedPort}`, "--v=1"],
          dir,
        ),
      );
      // HOME in the temp dir so a user's ~/.kwok/kwok.yaml cannot change the stages.
      procs.push(
        startProcess(
          "kwok",
          join(bin.kwok, "kwok"),
          [
            `--kubeconfig=${admin.kubeconfig}`,
            "--manage-all-nodes=false",
            `--manage-nodes-with-annotation-selector=${FAKE_NODE_ANNOTATION}=fake`,
            "--cidr=10.244.0.0/16",
            "--node-ip=10.244.0.1",
            "--node-lease-duration-seconds=40",
          ],
          dir,
          { ...process.env, HOME: dir },
        ),
      );
      fakeNode = "kwok-node-0";
      await createFakeNodeObject(kube, fakeNode, true);
    }

    // The serviceaccount controller creating "default" proves KCM is up and reconciling.
    await waitUntil(
      "kube-controller-manager (default ServiceAccount)",
      async () =>
        (await kube.getOrUndefined({ apiVersion: "v1", kind: "ServiceAccount", namespace: "default", name: "default" })) !== undefined,
      90_000,
      kcm,
    );

    if (fakeNode) {
      await waitUntil(
        `fake node ${fakeNode} schedulable (not-ready taint lifted)`,
        async () => {
          const node = await kube.get<{ apiVersion: string; kind: string; spec?: { taints?: Array<{ key: string }> } }>({
            apiVersion: "v1",
            kind: "Node",
            name: fakeNode,
          });
          return !(node.spec?.taints ?? []).some((t) => t.key === "node.kubernetes.io/not-ready");
        },
        90_000,
        kcm,
      );
    }

    const info: ClusterInfo = {
      dir,
      server,
      caFile: pki.caCert,
      kubeconfig: admin.kubeconfig,
      users,
      etcdUrl,
      saKeyFile: pki.saKey,
      fakeNode,
      bin,
    };
    log(`control plane ready: ${server} (kubeconfig ${admin.kubeconfig})`);

    // Restarts replace the process in `procs` in place, so stop() still stops in start order.
    const restart = async (name: string, opts: { downMs?: number; graceful?: boolean }, start: () => Promise<Proc>): Promise<void> => {
      const i = procs.findIndex((p) => p.name === name);
      const old = procs[i];
      if (i < 0 || !old) throw new Error(`restart: no ${name} process`);
      if (opts.graceful) {
        await stopProcess(old);
      } else {
        try {
          process.kill(old.pid, "SIGKILL");
        } catch {
          /* already gone */
        }
        await old.exited;
      }
      if (opts.downMs) await new Promise((r) => setTimeout(r, opts.downMs));
      procs[i] = await start();
    };
    return {
      info,
      stop,
      restartEtcd: (o = {}) => restart("etcd", o, startEtcd),
      restartApiServer: (o = {}) =>
        restart("kube-apiserver", o, async () => {
          const p = startProcess("kube-apiserver", join(bin.k8s, "kube-apiserver"), apiserverArgs, dir);
          await apiReady(p);
          return p;
        }),
      compactEtcd: () => compactEtcd(etcdUrl),
    };
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
}

/** A Node object kwok will manage (Ready, pods on it Running/Ready). */
export async function createFakeNodeObject(kube: Kube, name: string, taint: boolean): Promise<void> {
  await kube.apply({
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name,
      annotations: { [FAKE_NODE_ANNOTATION]: "fake", "node.alpha.kubernetes.io/ttl": "0" },
      labels: { "kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64", type: "kwok" },
    },
    spec: taint ? { taints: [{ key: FAKE_NODE_ANNOTATION, value: "fake", effect: "NoSchedule" }] } : {},
  });
  // Capacity goes through /status: the main endpoint ignores status. kwok fills in conditions.
  await kube.applyStatus({
    apiVersion: "v1",
    kind: "Node",
    metadata: { name },
    status: {
      allocatable: { cpu: "64", memory: "256Gi", pods: "1000", "ephemeral-storage": "1Ti" },
      capacity: { cpu: "64", memory: "256Gi", pods: "1000", "ephemeral-storage": "1Ti" },
    },
  });
}

async function installCrds(kube: Kube, crdDir: string, log: (m: string) => void): Promise<void> {
  if (!existsSync(crdDir)) return;
  const files = readdirSync(crdDir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort();
  const names: string[] = [];
  for (const f of files) {
    for (const doc of parseAllDocuments(readFileSync(join(crdDir, f), "utf8"))) {
      if (doc.errors.length) throw new Error(`crds/${f}: ${doc.errors[0]?.message ?? "YAML error"}`);
      const obj = doc.toJS() as { kind?: string; metadata?: { name?: string } } | null;
      if (!obj || obj.kind !== "CustomResourceDefinition") continue;
      try {
        await kube.apply(obj as { apiVersion: string; kind: string; metadata: { name: string } });
      } catch (err) {
        throw new Error(`installing crds/${f} failed: ${String(err)}`, { cause: err });
      }
      if (obj.metadata?.name) names.push(obj.metadata.name);
    }
  }
  for (const name of names) {
    await waitUntil(
      `CRD ${name} Established`,
      async () => {
        const crd = await kube.get<{ apiVersion: string; kind: string; status?: { conditions?: Array<{ type: string; status: string }> } }>(
          {
            apiVersion: "apiextensions.k8s.io/v1",
            kind: "CustomResourceDefinition",
            name,
          },
        );
        return crd.status?.conditions?.some((c) => c.type === "Established" && c.status === "True") ?? false;
      },
      60_000,
    );
  }
  if (names.length) log(`installed ${names.length} CRDs: ${names.join(", ")}`);
}
