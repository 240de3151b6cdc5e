// Runs a kubeconfig `exec` credential plugin (client.authentication.k8s.io ExecCredential, as
// gke-gcloud-auth-plugin, aws eks get-token or kubelogin implement it) and caches what it
// returns until its expirationTimestamp, so the plugin runs once per token lifetime rather than
// once per request. A 401 from the API server drops the cached credential (invalidate()), like
// client-go, so a token revoked early is fetched again on the next request.
import { execFile } from "node:child_process";
import path from "node:path";
import type { ExecConfig } from "./kubeconfig.js";

export interface ExecCredentialResult {
  token?: string | undefined;
  clientCert?: { cert: Buffer; key: Buffer } | undefined;
  /** Epoch ms; undefined = valid until the API server rejects it. */
  expiresAt?: number | undefined;
}

export interface ExecClusterInfo {
  server: string;
  tlsServerName?: string | undefined;
  insecureSkipTLSVerify: boolean;
  ca?: Buffer | undefined;
}

export class ExecCredentialError extends Error {
  override name = "ExecCredentialError";
}

/** Refresh this long before the plugin's expiry, so a request never goes out with a token about to lapse. */
const EXPIRY_SKEW_MS = 10_000;
const PLUGIN_TIMEOUT_MS = 60_000;

export class ExecCredentialSource {
  readonly #cfg: ExecConfig;
  readonly #cluster: ExecClusterInfo;
  readonly #now: () => number;
  #cached: ExecCredentialResult | undefined;
  #running: Promise<ExecCredentialResult> | undefined;
  #runs = 0;

  constructor(cfg: ExecConfig, cluster: ExecClusterInfo, opts: { now?: () => number } = {}) {
    this.#cfg = cfg;
    this.#cluster = cluster;
    this.#now = opts.now ?? Date.now;
  }

  /** How many times the plugin has been run (tests, metrics). */
  get runs(): number {
    return this.#runs;
  }

  /** The cached credential while it is valid; otherwise runs the plugin (one run shared by concurrent callers). */
  async get(): Promise<ExecCredentialResult> {
    const c = this.#cached;
    if (c && (c.expiresAt === undefined || this.#now() < c.expiresAt - EXPIRY_SKEW_MS)) return c;
    this.#running ??= this.#run().finally(() => (this.#running = undefined));
    return this.#running;
  }

  /** Forget the cached credential (the API server answered 401 with it). */
  invalidate(): void {
    this.#cached = undefined;
  }

  async #run(): Promise<ExecCredentialResult> {
    const cfg = this.#cfg;
    this.#runs++;
    const spec: Record<string, unknown> = { interactive: false };
    if (cfg.provideClusterInfo) {
      const c = this.#cluster;
      spec["cluster"] = {
        server: c.server,
        ...(c.tlsServerName ? { "tls-server-name": c.tlsServerName } : {}),
        "insecure-skip-tls-verify": c.insecureSkipTLSVerify,
        ...(c.ca ? { "certificate-authority-data": c.ca.toString("base64") } : {}),
      };
    }
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const e of cfg.env) env[e.name] = e.value;
    env["KUBERNETES_EXEC_INFO"] = JSON.stringify({ apiVersion: cfg.apiVersion, kind: "ExecCredential", spec });
    // client-go resolves a relative command that contains a separator against the kubeconfig's directory.
    const command =
      cfg.command.includes("/") && !path.isAbsolute(cfg.command) && cfg.cwd ? path.resolve(cfg.cwd, cfg.command) : cfg.command;
    const stdout = await new Promise<string>((resolve, reject) => {
      const child = execFile(
        command,
        cfg.args,
        { env, timeout: PLUGIN_TIMEOUT_MS, maxBuffer: 4 * 1024 * 1024, encoding: "utf8" },
        (err, out, errOut) => {
          if (!err) return resolve(out);
          const code = (err as NodeJS.ErrnoException).code;
          if (code === "ENOENT") {
            reject(
              new ExecCredentialError(
                `exec credential plugin "${cfg.command}" was not found${cfg.installHint ? `: ${cfg.installHint.trim()}` : ""}`,
              ),
            );
            return;
          }
          const why = err.killed ? `was killed after ${PLUGIN_TIMEOUT_MS} ms` : `failed (exit code ${String(code ?? err.message)})`;
          const tail = errOut.trim().slice(-2000);
          reject(new ExecCredentialError(`exec credential plugin "${cfg.command}" ${why}${tail ? `: ${tail}` : ""}`));
        },
      );
      child.stdin?.end();
    });
    const result = parseExecCredential(stdout, cfg);
    this.#cached = result;
    return result;
  }
}

/** Validates a plugin's stdout and maps it to what a request needs. Exported for tests. */
export function parseExecCredential(stdout: string, cfg: Pick<ExecConfig, "command" | "apiVersion">): ExecCredentialResult {
  const where = `exec credential plugin "${cfg.command}"`;
  let body: unknown;
  try {
    body = JSON.parse(stdout);
  } catch {
    throw new ExecCredentialError(`${where} did not print JSON on stdout (got ${JSON.stringify(stdout.slice(0, 200))})`);
  }
  if (!body || typeof body !== "object") throw new ExecCredentialError(`${where}: output is not a JSON object`);
  const o = body as { apiVersion?: unknown; kind?: unknown; status?: Record<string, unknown> };
  if (o.kind !== "ExecCredential") throw new ExecCredentialError(`${where}: kind is ${JSON.stringify(o.kind)}, expected "ExecCredential"`);
  if (o.apiVersion !== cfg.apiVersion)
    throw new ExecCredentialError(
      `${where}: apiVersion is ${JSON.stringify(o.apiVersion)}, but the kubeconfig asked for "${cfg.apiVersion}"`,
    );
  const s = o.status;
  if (!s || typeof s !== "object") throw new ExecCredentialError(`${where}: status is missing`);
  const field = (name: string): string | undefined => {
    const v = s[name];
    if (v === undefined || v === null || v === "") return undefined;
    if (typeof v !== "string") throw new ExecCredentialError(`${where}: status.${name} must be a string`);
    return v;
  };
  const token = field("token");
  const certData = field("clientCertificateData");
  const keyData = field("clientKeyData");
  const expiry = field("expirationTimestamp");
  if (Boolean(certData) !== Boolean(keyData))
    throw new ExecCredentialError(`${where}: status.clientCertificateData and status.clientKeyData must be set together`);
  if (!token && !certData) throw new ExecCredentialError(`${where}: status has neither a token nor clientCertificateData/clientKeyData`);
  let expiresAt: number | undefined;
  if (expiry) {
    expiresAt = Date.parse(expiry);
    if (Number.isNaN(expiresAt))
      throw new ExecCredentialError(`${where}: status.expirationTimestamp ${JSON.stringify(expiry)} is not an RFC 3339 time`);
  }
  return {
    token,
    clientCert: certData && keyData ? { cert: Buffer.from(certData), key: Buffer.from(keyData) } : undefined,
    expiresAt,
  };
}
