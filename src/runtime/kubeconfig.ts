// Loads how to reach the API server: in-cluster (service account) or a kubeconfig file.
//
// Why not client-node's KubeConfig: importing it pulls in every generated API class and model
// (about 90 MB of RSS and seconds of start-up) although the operator needs only a server URL,
// TLS settings and a credential. This file reads the same inputs into a plain ClusterConfig;
// connection.ts turns that into requests. Supported: server, certificate-authority(-data),
// insecure-skip-tls-verify, tls-server-name; token, tokenFile, client-certificate(-data) /
// client-key(-data), username/password, `as` (impersonation) and `exec` credential plugins.
// Anything else that changes how to connect (auth-provider, proxy-url) is refused by name
// rather than ignored, so a config never silently connects differently than kubectl would.
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import path from "node:path";
import { parse as parseYaml } from "yaml";
import { z } from "zod";

/** Where the in-cluster credentials are mounted (client-go's defaults). */
export const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

export interface ExecConfig {
  command: string;
  args: string[];
  env: Array<{ name: string; value: string }>;
  /** client.authentication.k8s.io/v1 or v1beta1: the ExecCredential version asked for. */
  apiVersion: string;
  installHint?: string | undefined;
  provideClusterInfo: boolean;
  /** Directory relative commands and paths are resolved against (the kubeconfig's). */
  cwd?: string | undefined;
}

/** How each request proves who we are. Files are read again as they change (rotated tokens). */
export type Credential =
  | { type: "none" }
  | { type: "token"; token: string }
  | { type: "tokenFile"; path: string }
  | { type: "basic"; username: string; password: string }
  | { type: "exec"; exec: ExecConfig };

export interface ClusterConfig {
  /** Where this came from, for logs and errors: "in-cluster" or "<file> (context <name>)". */
  source: string;
  /** Base URL without a trailing slash, e.g. https://10.96.0.1:443. */
  server: string;
  /** PEM CA bundle; undefined = the system roots. */
  ca?: Buffer | undefined;
  insecureSkipTLSVerify: boolean;
  tlsServerName?: string | undefined;
  /** A static client certificate (PEM); exec plugins may supply one at run time instead. */
  clientCert?: { cert: Buffer; key: Buffer } | undefined;
  credential: Credential;
  /** Impersonate-User / Impersonate-Group headers (kubeconfig `as`, `as-groups`). */
  impersonateUser?: string | undefined;
  impersonateGroups?: string[] | undefined;
  /** Namespace of the current context or of the service account, if known. */
  namespace?: string | undefined;
}

export class KubeConfigError extends Error {
  override name = "KubeConfigError";
}

// ---- in-cluster ----

export interface InClusterOptions {
  env?: NodeJS.ProcessEnv;
  /** Default SERVICE_ACCOUNT_DIR. */
  dir?: string;
}

/** True if this process looks like it runs in a pod with a mounted service account. */
export function inClusterAvailable(opts: InClusterOptions = {}): boolean {
  const env = opts.env ?? process.env;
  return Boolean(
    env["KUBERNETES_SERVICE_HOST"] && env["KUBERNETES_SERVICE_PORT"] && existsSync(path.join(opts.dir ?? SERVICE_ACCOUNT_DIR, "token")),
  );
}

/**
 * The pod's service account: KUBERNETES_SERVICE_HOST/PORT, the mounted CA, and the token file,
 * which is a bound token the kubelet rotates, so it is read again periodically (connection.ts),
 * never once at start.
 */
export function loadInClusterConfig(opts: InClusterOptions = {}): ClusterConfig {
  const env = opts.env ?? process.env;
  const dir = opts.dir ?? SERVICE_ACCOUNT_DIR;
  const host = env["KUBERNETES_SERVICE_HOST"];
  const port = env["KUBERNETES_SERVICE_PORT"];
  if (!host || !port)
    throw new KubeConfigError(
      "in-cluster config: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set (is this running in a pod?)",
    );
  const tokenPath = path.join(dir, "token");
  const caPath = path.join(dir, "ca.crt");
  if (!existsSync(tokenPath))
    throw new KubeConfigError(
      `in-cluster config: service account token ${tokenPath} does not exist (automountServiceAccountToken: false?)`,
    );
  const ca = readFileOrThrow(caPath, "in-cluster config: service account CA");
  const nsPath = path.join(dir, "namespace");
  const namespace = existsSync(nsPath) ? readFileSync(nsPath, "utf8").trim() || undefined : undefined;
  // An IPv6 service host needs brackets in a URL.
  const hostPart = host.includes(":") ? `[${host}]` : host;
  return {
    source: "in-cluster",
    server: `https://${hostPart}:${port}`,
    ca,
    insecureSkipTLSVerify: false,
    credential: { type: "tokenFile", path: tokenPath },
    namespace,
  };
}

// ---- kubeconfig files ----

const str = z.string();
const optStr = z.string().optional();
const NamedCluster = z.object({
  name: str,
  cluster: z.object({
    server: str.min(1),
    "certificate-authority": optStr,
    "certificate-authority-data": optStr,
    "insecure-skip-tls-verify": z.boolean().optional(),
    "tls-server-name": optStr,
    "proxy-url": optStr,
    "disable-compression": z.boolean().optional(),
  }),
});
const ExecSchema = z.object({
  command: str.min(1),
  args: z.array(str).nullish(),
  env: z.array(z.object({ name: str, value: str })).nullish(),
  apiVersion: str.min(1),
  installHint: optStr,
  provideClusterInfo: z.boolean().optional(),
  interactiveMode: z.enum(["Never", "IfAvailable", "Always"]).optional(),
});
const NamedUser = z.object({
  name: str,
  user: z
    .object({
      token: optStr,
      tokenFile: optStr,
      "client-certificate": optStr,
      "client-certificate-data": optStr,
      "client-key": optStr,
      "client-key-data": optStr,
      username: optStr,
      password: optStr,
      as: optStr,
      "as-groups": z.array(str).nullish(),
      "auth-provider": z.unknown().optional(),
      exec: ExecSchema.nullish(),
    })
    .nullish(),
});
const NamedContext = z.object({
  name: str,
  context: z.object({ cluster: str.min(1), user: optStr, namespace: optStr }),
});
const KubeConfigFile = z.object({
  clusters: z.array(NamedCluster).nullish(),
  users: z.array(NamedUser).nullish(),
  contexts: z.array(NamedContext).nullish(),
  "current-context": optStr,
});
type KubeConfigFile = z.infer<typeof KubeConfigFile>;

/** Items carry the file they came from: relative paths in them are relative to that file. */
interface Merged {
  clusters: Map<string, { item: z.infer<typeof NamedCluster>; file: string; index: number }>;
  users: Map<string, { item: z.infer<typeof NamedUser>; file: string; index: number }>;
  contexts: Map<string, { item: z.infer<typeof NamedContext>; file: string; index: number }>;
  currentContext: string | undefined;
  files: string[];
}

function issuePath(p: ReadonlyArray<PropertyKey>): string {
  let out = "";
  for (const seg of p) out += typeof seg === "number" ? `[${seg}]` : out ? `.${String(seg)}` : String(seg);
  return out || "(top level)";
}

function parseFile(file: string): KubeConfigFile {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new KubeConfigError(`kubeconfig ${file}: cannot read it: ${(err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new KubeConfigError(`kubeconfig ${file}: not valid YAML: ${(err as Error).message}`);
  }
  if (doc === null || doc === undefined) return {};
  const parsed = KubeConfigFile.safeParse(doc);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw new KubeConfigError(`kubeconfig ${file}: ${first ? `${issuePath(first.path)}: ${first.message}` : parsed.error.message}`);
  }
  return parsed.data;
}

/**
 * Merges files as kubectl does: the first file to define a name wins, and the first file
 * that sets current-context decides it.
 */
function mergeFiles(files: string[]): Merged {
  const m: Merged = { clusters: new Map(), users: new Map(), contexts: new Map(), currentContext: undefined, files };
  for (const file of files) {
    const f = parseFile(file);
    (f.clusters ?? []).forEach((item, index) => {
      if (!m.clusters.has(item.name)) m.clusters.set(item.name, { item, file, index });
    });
    (f.users ?? []).forEach((item, index) => {
      if (!m.users.has(item.name)) m.users.set(item.name, { item, file, index });
    });
    (f.contexts ?? []).forEach((item, index) => {
      if (!m.contexts.has(item.name)) m.contexts.set(item.name, { item, file, index });
    });
    if (!m.currentContext && f["current-context"]) m.currentContext = f["current-context"];
  }
  return m;
}

function readFileOrThrow(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new KubeConfigError(`${what}: cannot read ${file}: ${(err as Error).message}`);
  }
}

function fileOrData(where: string, field: string, file: string | undefined, data: string | undefined, baseDir: string): Buffer | undefined {
  if (file) return readFileOrThrow(path.resolve(baseDir, file), `${where}.${field}`);
  if (data) {
    const buf = Buffer.from(data, "base64");
    // Buffer.from silently skips bad characters; a PEM must decode to something that looks like one.
    if (buf.length === 0 || !buf.toString("latin1").includes("-----BEGIN"))
      throw new KubeConfigError(`${where}.${field}-data: not base64 of a PEM block`);
    return buf;
  }
  return undefined;
}

export interface KubeConfigFileOptions {
  /** Use this context instead of current-context. */
  context?: string | undefined;
}

/** Reads one or more kubeconfig files (merged like KUBECONFIG) into the config of one context. */
export function loadKubeConfigFiles(files: string[], opts: KubeConfigFileOptions = {}): ClusterConfig {
  if (files.length === 0) throw new KubeConfigError("no kubeconfig file given");
  const m = mergeFiles(files);
  const shown = files.join(":");
  const ctxName = opts.context ?? m.currentContext;
  if (!ctxName) throw new KubeConfigError(`kubeconfig ${shown}: no current-context is set (and no context was chosen)`);
  const ctx = m.contexts.get(ctxName);
  if (!ctx)
    throw new KubeConfigError(
      `kubeconfig ${shown}: context "${ctxName}" is not defined (contexts: ${[...m.contexts.keys()].join(", ") || "none"})`,
    );
  const clusterName = ctx.item.context.cluster;
  const cl = m.clusters.get(clusterName);
  if (!cl)
    throw new KubeConfigError(
      `kubeconfig ${ctx.file}: contexts[${ctx.index}] ("${ctxName}"): cluster "${clusterName}" is not defined (clusters: ${[...m.clusters.keys()].join(", ") || "none"})`,
    );
  const cWhere = `kubeconfig ${cl.file}: clusters[${cl.index}].cluster`;
  const c = cl.item.cluster;
  if (c["proxy-url"]) throw new KubeConfigError(`${cWhere}.proxy-url is not supported by this client; reach the API server directly`);
  let server: URL;
  try {
    server = new URL(c.server);
  } catch {
    throw new KubeConfigError(`${cWhere}.server: "${c.server}" is not a URL`);
  }
  if (server.protocol !== "https:" && server.protocol !== "http:")
    throw new KubeConfigError(`${cWhere}.server: "${c.server}" must be http(s)://`);
  const clusterDir = path.dirname(cl.file);
  const ca = fileOrData(cWhere, "certificate-authority", c["certificate-authority"], c["certificate-authority-data"], clusterDir);

  const userName = ctx.item.context.user;
  let credential: Credential = { type: "none" };
  let clientCert: ClusterConfig["clientCert"];
  let impersonateUser: string | undefined;
  let impersonateGroups: string[] | undefined;
  if (userName) {
    const us = m.users.get(userName);
    if (!us)
      throw new KubeConfigError(
        `kubeconfig ${ctx.file}: contexts[${ctx.index}] ("${ctxName}"): user "${userName}" is not defined (users: ${[...m.users.keys()].join(", ") || "none"})`,
      );
    const uWhere = `kubeconfig ${us.file}: users[${us.index}].user`;
    const u = us.item.user ?? {};
    const userDir = path.dirname(us.file);
    if (u["auth-provider"] !== undefined)
      throw new KubeConfigError(`${uWhere}.auth-provider is not supported (removed from kubectl too); use an exec credential plugin`);
    impersonateUser = u.as || undefined;
    impersonateGroups = u["as-groups"]?.length ? u["as-groups"] : undefined;
    if (impersonateGroups && !impersonateUser) throw new KubeConfigError(`${uWhere}.as-groups needs \`as\` (a user to impersonate) too`);
    const cert = fileOrData(uWhere, "client-certificate", u["client-certificate"], u["client-certificate-data"], userDir);
    const key = fileOrData(uWhere, "client-key", u["client-key"], u["client-key-data"], userDir);
    if (cert && !key) throw new KubeConfigError(`${uWhere}: client-certificate is set but client-key is not`);
    if (key && !cert) throw new KubeConfigError(`${uWhere}: client-key is set but client-certificate is not`);
    if (cert && key) clientCert = { cert, key };
    const kinds = [u.token || u.tokenFile ? "token" : "", u.username || u.password ? "username/password" : "", u.exec ? "exec" : ""].filter(
      Boolean,
    );
    if (kinds.length > 1) throw new KubeConfigError(`${uWhere}: more than one credential is set (${kinds.join(", ")}); keep one`);
    if (u.token) credential = { type: "token", token: u.token };
    else if (u.tokenFile) {
      const p = path.resolve(userDir, u.tokenFile);
      if (!existsSync(p)) throw new KubeConfigError(`${uWhere}.tokenFile: ${p} does not exist`);
      credential = { type: "tokenFile", path: p };
    } else if (u.username || u.password) {
      if (!u.username || u.password === undefined) throw new KubeConfigError(`${uWhere}: username and password must both be set`);
      credential = { type: "basic", username: u.username, password: u.password };
    } else if (u.exec) {
      const e = u.exec;
      if (e.apiVersion !== "client.authentication.k8s.io/v1" && e.apiVersion !== "client.authentication.k8s.io/v1beta1") {
        throw new KubeConfigError(
          `${uWhere}.exec.apiVersion: "${e.apiVersion}" is not supported (client.authentication.k8s.io/v1 or v1beta1)`,
        );
      }
      if (e.interactiveMode === "Always")
        throw new KubeConfigError(`${uWhere}.exec.interactiveMode is Always, but this process has no terminal to prompt on`);
      credential = {
        type: "exec",
        exec: {
          command: e.command,
          args: e.args ?? [],
          env: e.env ?? [],
          apiVersion: e.apiVersion,
          installHint: e.installHint,
          provideClusterInfo: e.provideClusterInfo ?? false,
          cwd: userDir,
        },
      };
    }
  }
  return {
    source: `${shown} (context ${ctxName})`,
    server: c.server.replace(/\/+$/, ""),
    ca,
    insecureSkipTLSVerify: c["insecure-skip-tls-verify"] ?? false,
    tlsServerName: c["tls-server-name"] || undefined,
    clientCert,
    credential,
    impersonateUser,
    impersonateGroups,
    namespace: ctx.item.context.namespace || undefined,
  };
}

export interface DefaultConfigOptions extends KubeConfigFileOptions {
  /** An explicit kubeconfig path (a --kubeconfig flag); wins over everything else. */
  kubeconfig?: string | undefined;
  env?: NodeJS.ProcessEnv;
  /** Service account directory for the in-cluster case (tests). */
  serviceAccountDir?: string;
  /** Home directory for ~/.kube/config (tests). */
  home?: string;
}

/**
 * controller-runtime's order: --kubeconfig, then $KUBECONFIG (colon-separated files, merged),
 * then in-cluster, then ~/.kube/config.
 */
export function loadDefaultConfig(opts: DefaultConfigOptions = {}): ClusterConfig {
  const env = opts.env ?? process.env;
  if (opts.kubeconfig) return loadKubeConfigFiles([opts.kubeconfig], opts);
  const fromEnv = (env["KUBECONFIG"] ?? "").split(path.delimiter).filter(Boolean);
  if (fromEnv.length) {
    const present = fromEnv.filter((f) => existsSync(f));
    if (present.length === 0) throw new KubeConfigError(`KUBECONFIG names no existing file: ${fromEnv.join(path.delimiter)}`);
    return loadKubeConfigFiles(present, opts);
  }
  const saOpts = { env, ...(opts.serviceAccountDir ? { dir: opts.serviceAccountDir } : {}) };
  if (inClusterAvailable(saOpts)) return loadInClusterConfig(saOpts);
  const home = path.join(opts.home ?? homedir(), ".kube", "config");
  if (existsSync(home)) return loadKubeConfigFiles([home], opts);
  throw new KubeConfigError(
    `no Kubernetes configuration found: no --kubeconfig, KUBECONFIG unset, not in a pod (KUBERNETES_SERVICE_HOST unset or no service account token), and no ${home}`,
  );
}
