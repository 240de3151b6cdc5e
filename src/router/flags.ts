import type { KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Command, InvalidArgumentError, Option } from "commander";
import { signingKeyFromPem } from "../execd-token/index.js";
import { listenAddress } from "../shared/flags/host-port.js";
import { defaultRouterConfig, type RouterConfig } from "./config.js";

export interface RouterFlags {
  config: RouterConfig;
  listen: { host: string; port: number };
  healthAddress: { host: string; port: number };
  signingKey: Uint8Array | undefined;
  execdSigningKey: KeyObject | undefined;
  namespace: string | undefined;
}

function wholeNumber(name: string, min: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be a whole number >= ${min}, got "${value}"`);
    return n;
  };
}

const d = defaultRouterConfig;

/** Where `npm run build` puts the web console: beside the router's own compiled code. */
const BUILT_CONSOLE_DIR = fileURLToPath(new URL("../console/", import.meta.url));

export function parseRouterFlags(argv: string[], env: NodeJS.ProcessEnv = process.env): RouterFlags {
  const program = new Command("sandbox-router")
    .description("Authenticating reverse proxy to sandbox pods, with a management API for agents that do not speak Kubernetes.")
    .addOption(new Option("--listen <host:port>", "proxy and management API address").default(":8080").argParser(listenAddress))
    .addOption(
      new Option("--health-address <host:port>", "where /healthz, /readyz and /metrics listen").default(":8081").argParser(listenAddress),
    )
    .addOption(
      new Option(
        "--signing-key-file <file>",
        "file with the HMAC key (>= 32 bytes) for sandbox tokens; share it across replicas (or env ROUTER_SIGNING_KEY)",
      ),
    )
    .addOption(
      new Option(
        "--execd-signing-key-file <file>",
        "PEM Ed25519 private key the execution servers' tokens are signed with; the operator's --execd-token-key-file must hold its public half",
      ),
    )
    .addOption(new Option("--default-namespace <ns>", "namespace when a request names none").default(d.defaultNamespace))
    .addOption(
      new Option("--exec-port <port>", "port of the execution server in sandbox pods")
        .default(d.execPort)
        .argParser(wholeNumber("--exec-port", 1)),
    )
    .addOption(
      new Option("--default-ttl <seconds>", "TTL of sandboxes created through the management API")
        .default(d.defaultTtlSeconds)
        .argParser(wholeNumber("--default-ttl", 10)),
    )
    .addOption(
      new Option("--max-ttl <seconds>", "largest TTL a caller may ask for")
        .default(d.maxTtlSeconds)
        .argParser(wholeNumber("--max-ttl", 10)),
    )
    .addOption(
      new Option("--ttl-write-interval <seconds>", "at most one TTL write per claim per interval")
        .default(d.ttlWriteIntervalSeconds)
        .argParser(wholeNumber("--ttl-write-interval", 1)),
    )
    .addOption(
      new Option("--create-wait <seconds>", "how long POST /v1/sandboxes waits for Ready by default")
        .default(d.createWaitSeconds)
        .argParser(wholeNumber("--create-wait", 0)),
    )
    .addOption(
      new Option("--max-wait <seconds>", "longest wait a caller may ask for")
        .default(d.maxWaitSeconds)
        .argParser(wholeNumber("--max-wait", 0)),
    )
    .addOption(
      new Option("--token-ttl <seconds>", "lifetime of sandbox tokens")
        .default(d.scopedTokenTtlSeconds)
        .argParser(wholeNumber("--token-ttl", 10)),
    )
    .addOption(
      new Option("--auth-cache-ttl <ms>", "how long TokenReview/SubjectAccessReview answers are reused")
        .default(d.authCacheTtlMs)
        .argParser(wholeNumber("--auth-cache-ttl", 0)),
    )
    .addOption(
      new Option("--resolve-wait <ms>", "how long a request for a sandbox not (yet) Ready in the router's caches waits before 404/503")
        .default(d.resolveWaitMs)
        .argParser(wholeNumber("--resolve-wait", 0)),
    )
    .addOption(
      new Option("--restart-wait <ms>", "how long a request for a sandbox that is starting or restarting waits before 503")
        .default(d.restartWaitMs)
        .argParser(wholeNumber("--restart-wait", 0)),
    )
    .addOption(
      new Option(
        "--wake-timeout <ms>",
        "how long a call to a suspended sandbox waits while the router resumes it (0: answer 503, do not resume)",
      )
        .default(d.wakeTimeoutMs)
        .argParser(wholeNumber("--wake-timeout", 0)),
    )
    .addOption(
      new Option("--activity-write-interval <ms>", "the longest time between two last-activity writes on a sandbox with an idle timeout")
        .default(d.activityWriteIntervalMs)
        .argParser(wholeNumber("--activity-write-interval", 1000)),
    )
    .addOption(
      new Option("--connect-timeout <ms>", "a connection to a pod not made within this long counts as refused")
        .default(d.connectTimeoutMs)
        .argParser(wholeNumber("--connect-timeout", 1)),
    )
    .addOption(
      new Option(
        "--unresponsive-grace <ms>",
        "a call runs on this long while its not-Ready sandbox's pod neither accepts nor refuses connections (a starved server)",
      )
        .default(d.unresponsiveGraceMs)
        .argParser(wholeNumber("--unresponsive-grace", 0)),
    )
    .addOption(
      new Option("--upstream-idle-timeout <ms>", "abort a proxied request idle for this long")
        .default(d.upstreamIdleTimeoutMs)
        .argParser(wholeNumber("--upstream-idle-timeout", 1)),
    )
    .addOption(new Option("--namespace <ns>", "watch only this namespace (default: all)"))
    .addOption(new Option("--console-dir <dir>", "the built web console served at /ui/").default(BUILT_CONSOLE_DIR))
    .addOption(new Option("--no-console", "do not serve the web console"))
    .exitOverride();
  program.parse(argv, { from: "user" });
  const o = program.opts<{
    listen: { host: string; port: number } | string;
    healthAddress: { host: string; port: number } | string;
    signingKeyFile?: string;
    execdSigningKeyFile?: string;
    defaultNamespace: string;
    execPort: number;
    defaultTtl: number;
    maxTtl: number;
    ttlWriteInterval: number;
    createWait: number;
    maxWait: number;
    tokenTtl: number;
    authCacheTtl: number;
    upstreamIdleTimeout: number;
    resolveWait: number;
    restartWait: number;
    wakeTimeout: number;
    activityWriteInterval: number;
    connectTimeout: number;
    unresponsiveGrace: number;
    namespace?: string;
    consoleDir: string;
    console: boolean;
  }>();
  if (o.defaultTtl > o.maxTtl) throw new Error(`--default-ttl (${o.defaultTtl}) exceeds --max-ttl (${o.maxTtl})`);
  let signingKey: Uint8Array | undefined;
  if (o.signingKeyFile) signingKey = readFileSync(o.signingKeyFile);
  else if (env["ROUTER_SIGNING_KEY"]) signingKey = Buffer.from(env["ROUTER_SIGNING_KEY"], "utf8");
  if (signingKey && signingKey.length < 32) throw new Error(`the signing key must be at least 32 bytes, got ${signingKey.length}`);
  let execdSigningKey: KeyObject | undefined;
  if (o.execdSigningKeyFile) {
    try {
      execdSigningKey = signingKeyFromPem(readFileSync(o.execdSigningKeyFile));
    } catch (err) {
      throw new Error(`--execd-signing-key-file ${o.execdSigningKeyFile}: ${(err as Error).message}`, { cause: err });
    }
  }
  return {
    config: {
      ...d,
      defaultNamespace: o.defaultNamespace,
      execPort: o.execPort,
      defaultTtlSeconds: o.defaultTtl,
      maxTtlSeconds: o.maxTtl,
      ttlWriteIntervalSeconds: o.ttlWriteInterval,
      createWaitSeconds: o.createWait,
      maxWaitSeconds: o.maxWait,
      scopedTokenTtlSeconds: o.tokenTtl,
      authCacheTtlMs: o.authCacheTtl,
      upstreamIdleTimeoutMs: o.upstreamIdleTimeout,
      resolveWaitMs: o.resolveWait,
      restartWaitMs: o.restartWait,
      wakeTimeoutMs: o.wakeTimeout,
      activityWriteIntervalMs: o.activityWriteInterval,
      connectTimeoutMs: o.connectTimeout,
      unresponsiveGraceMs: o.unresponsiveGrace,
      consoleDir: o.console ? o.consoleDir : undefined,
    },
    listen: typeof o.listen === "string" ? listenAddress(o.listen) : o.listen,
    healthAddress: typeof o.healthAddress === "string" ? listenAddress(o.healthAddress) : o.healthAddress,
    signingKey,
    execdSigningKey,
    namespace: o.namespace,
  };
}
