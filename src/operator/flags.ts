import { existsSync, readFileSync } from "node:fs";
import type { KeyObject } from "node:crypto";
import { Command, InvalidArgumentError, Option } from "commander";
import { quantityBytes } from "../api/quantity.js";
import { encodePublicKey, publicKeysFromPem, signingKeyFromPem } from "../execd-token/index.js";
import { defaultOperatorConfig, type OperatorConfig } from "../config/operator-config.js";
import { listenAddress } from "../shared/flags/host-port.js";

export interface OperatorFlags {
  config: OperatorConfig;
  leaderElect: boolean;
  leaderElectionNamespace: string;
  leaderElectionId: string;
  /** Lease timings in ms (client-go's leaseDuration, renewDeadline, retryPeriod). */
  leaderElectionTimings: { leaseDurationMs: number; renewDeadlineMs: number; retryPeriodMs: number };
  healthAddress: { host: string; port: number };
  namespace: string | undefined;
  workers: { sandbox: number; claim: number; pool: number };
  /**
   * The operator's own key for environment tokens (--env-signing-key-file), with which it hands
   * claims' env to warm sandboxes; undefined when not given or the file is absent.
   */
  envSigningKey: KeyObject | undefined;
  /** Why env delivery to execution servers is off, when it is (for the start-up log). */
  envDeliveryOff: string | undefined;
  /** Explicit kubeconfig file and context; unset = $KUBECONFIG, in-cluster, then ~/.kube/config. */
  kubeconfig: string | undefined;
  context: string | undefined;
}

function positiveInt(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be a whole number >= 1, got "${value}"`);
    return n;
  };
}

/** A size flag: a byte quantity such as 2Gi, or '' for none. */
function sizeOrNone(name: string) {
  return (value: string): string => {
    if (value === "") return value;
    try {
      quantityBytes(value);
    } catch (err) {
      throw new InvalidArgumentError(`${name}: ${err instanceof Error ? err.message : String(err)}`);
    }
    return value;
  };
}

/** "15s", "1500ms" or a bare number of seconds, as a whole number of ms > 0. */
function duration(name: string) {
  return (value: string): number => {
    const m = /^(\d+(?:\.\d+)?)(ms|s)?$/.exec(value.trim());
    const ms = m ? Number(m[1]) * (m[2] === "ms" ? 1 : 1000) : NaN;
    if (!Number.isFinite(ms) || ms <= 0) throw new InvalidArgumentError(`${name} must be a duration like 15s or 500ms, got "${value}"`);
    return Math.round(ms);
  };
}

/** The trusted keys in a PEM file (public keys, certificates, or a private key whose public half is taken). */
function trustedKeys(value: string): string[] {
  try {
    return publicKeysFromPem(readFileSync(value, "utf8")).map(encodePublicKey);
  } catch (err) {
    throw new InvalidArgumentError(`--execd-token-key-file ${value}: ${(err as Error).message}`);
  }
}

/**
 * The operator's environment signing key. A file that is absent (an optional Secret volume that
 * nobody created) turns delivery off rather than stopping the operator; one that exists but is
 * not an Ed25519 private key is an error.
 */
function envSigningKey(file: string | undefined): { key: KeyObject | undefined; off: string | undefined } {
  if (!file) return { key: undefined, off: "no --env-signing-key-file" };
  if (!existsSync(file)) return { key: undefined, off: `--env-signing-key-file ${file} does not exist` };
  try {
    return { key: signingKeyFromPem(readFileSync(file)), off: undefined };
  } catch (err) {
    throw new InvalidArgumentError(`--env-signing-key-file ${file}: ${(err as Error).message}`);
  }
}

function resources(value: string): Record<string, string> {
  // cpu=1,memory=1Gi,ephemeral-storage=2Gi
  const out: Record<string, string> = {};
  for (const pair of value.split(",").filter(Boolean)) {
    const [k, v] = pair.split("=");
    if (!k || !v) throw new InvalidArgumentError(`expected name=quantity pairs separated by commas, got "${pair}"`);
    out[k.trim()] = v.trim();
  }
  return out;
}

const d = defaultOperatorConfig;

export function parseOperatorFlags(argv: string[]): OperatorFlags {
  const program = new Command("agent-sandbox-operator")
    .description("Reconciles Sandbox, SandboxTemplate, SandboxClaim and SandboxWarmPool objects into gVisor pods.")
    .addOption(
      new Option("--default-runtime-class <name>", "RuntimeClass for sandbox pods that name none ('' disables)").default(
        d.defaultRuntimeClassName,
      ),
    )
    .addOption(new Option("--default-requests <list>", "default container requests, e.g. cpu=100m,memory=256Mi").argParser(resources))
    .addOption(
      new Option("--default-limits <list>", "default container limits, e.g. cpu=1,memory=1Gi,ephemeral-storage=2Gi").argParser(resources),
    )
    .addOption(new Option("--execd-image <image>", "image of the injected execution server").default(d.execdImage))
    .addOption(new Option("--exec-port <port>", "port of the execution server").default(d.execPort).argParser(positiveInt("--exec-port")))
    .addOption(
      new Option(
        "--execd-token-key-file <file>",
        "PEM with the router's token public key(s) (public keys, certificates or the private key) that new execution servers trust",
      ).argParser(trustedKeys),
    )
    .addOption(
      new Option(
        "--env-signing-key-file <file>",
        "PEM Ed25519 private key the operator signs environment tokens with: claims' env then reaches warm sandboxes through their execution server (absent file: env goes into pod specs)",
      ),
    )
    .addOption(
      new Option("--operator-namespace <ns>", "namespace of the operator's pods, admitted to sandboxes' execution port to deliver env")
        .env("POD_NAMESPACE")
        .default(d.operatorNamespace),
    )
    .addOption(
      new Option(
        "--operator-labels <list>",
        "pod labels of the operator, e.g. app=agent-sandbox-operator (needed for env delivery)",
      ).argParser(resources),
    )
    .addOption(new Option("--router-namespace <ns>", "namespace of the router, the only allowed ingress peer").default(d.routerNamespace))
    .addOption(new Option("--router-labels <list>", "pod labels of the router, e.g. app=sandbox-router").argParser(resources))
    .addOption(new Option("--cluster-domain <domain>", "cluster DNS suffix for status.serviceFQDN").default(d.clusterDomain))
    .addOption(
      new Option("--workspace-size-limit <quantity>", "size of the injected /workspace; writes past it fail with ENOSPC ('' for none)")
        .default(d.workspaceSizeLimit)
        .argParser(sizeOrNone("--workspace-size-limit")),
    )
    .addOption(
      new Option("--tmp-size-limit <quantity>", "size of the memory-backed /tmp emptyDir of the execution server ('' for none)")
        .default(d.tmpSizeLimit)
        .argParser(sizeOrNone("--tmp-size-limit")),
    )
    .addOption(
      new Option("--shm-size-limit <quantity>", "size of the memory-backed /dev/shm of sandboxes with the execution server ('' for none)")
        .default(d.shmSizeLimit)
        .argParser(sizeOrNone("--shm-size-limit")),
    )
    .addOption(
      new Option("--run-as-user <uid>", "UID sandbox containers run as when the spec sets none")
        .default(d.defaultRunAsUser)
        .argParser(positiveInt("--run-as-user")),
    )
    .addOption(new Option("--leader-elect <bool>", "use a Lease so only one replica reconciles").default("true").choices(["true", "false"]))
    .addOption(
      new Option("--leader-election-namespace <ns>", "namespace of the Lease").env("POD_NAMESPACE").default("agent-sandbox-system"),
    )
    .addOption(new Option("--leader-election-id <name>", "name of the Lease").default("agent-sandbox-ts-leader"))
    .addOption(
      new Option("--leader-elect-lease-duration <duration>", "how long followers wait before taking over a lease that is not renewed")
        .default(15_000, "15s")
        .argParser(duration("--leader-elect-lease-duration")),
    )
    .addOption(
      new Option("--leader-elect-renew-deadline <duration>", "how long the leader retries renewing before it stops leading")
        .default(10_000, "10s")
        .argParser(duration("--leader-elect-renew-deadline")),
    )
    .addOption(
      new Option("--leader-elect-retry-period <duration>", "how often candidates try to acquire or renew")
        .default(2_000, "2s")
        .argParser(duration("--leader-elect-retry-period")),
    )
    .addOption(
      new Option("--health-address <host:port>", "where /healthz, /readyz and /metrics listen").default(":8081").argParser(listenAddress),
    )
    .addOption(new Option("--namespace <ns>", "watch only this namespace (default: all)"))
    .addOption(
      new Option("--kubeconfig <file>", "kubeconfig to use (default: $KUBECONFIG, then the pod's service account, then ~/.kube/config)"),
    )
    .addOption(new Option("--context <name>", "kubeconfig context to use instead of current-context"))
    .addOption(new Option("--sandbox-workers <n>", "concurrent Sandbox reconciles").default(16).argParser(positiveInt("--sandbox-workers")))
    .addOption(new Option("--claim-workers <n>", "concurrent SandboxClaim reconciles").default(8).argParser(positiveInt("--claim-workers")))
    .addOption(
      new Option("--pool-workers <n>", "concurrent SandboxWarmPool reconciles").default(2).argParser(positiveInt("--pool-workers")),
    )
    .exitOverride();
  program.parse(argv, { from: "user" });
  const o = program.opts<{
    defaultRuntimeClass: string;
    defaultRequests?: Record<string, string>;
    defaultLimits?: Record<string, string>;
    execdImage: string;
    execPort: number;
    execdTokenKeyFile?: string[];
    envSigningKeyFile?: string;
    operatorNamespace: string;
    operatorLabels?: Record<string, string>;
    routerNamespace: string;
    routerLabels?: Record<string, string>;
    clusterDomain: string;
    workspaceSizeLimit: string;
    tmpSizeLimit: string;
    shmSizeLimit: string;
    runAsUser: number;
    leaderElect: string;
    leaderElectionNamespace: string;
    leaderElectionId: string;
    leaderElectLeaseDuration: number;
    leaderElectRenewDeadline: number;
    leaderElectRetryPeriod: number;
    healthAddress: { host: string; port: number } | string;
    namespace?: string;
    kubeconfig?: string;
    context?: string;
    sandboxWorkers: number;
    claimWorkers: number;
    poolWorkers: number;
  }>();
  const env = envSigningKey(o.envSigningKeyFile);
  return {
    envSigningKey: env.key,
    envDeliveryOff: env.off,
    config: {
      ...d,
      defaultRuntimeClassName: o.defaultRuntimeClass,
      defaultResources: {
        requests: o.defaultRequests ?? d.defaultResources.requests,
        limits: o.defaultLimits ?? d.defaultResources.limits,
      },
      execdImage: o.execdImage,
      execPort: o.execPort,
      execdTrustedKeys: o.execdTokenKeyFile ?? d.execdTrustedKeys,
      execdEnvTrustedKeys: env.key ? [encodePublicKey(env.key)] : [],
      operatorNamespace: o.operatorNamespace,
      operatorPodLabels: o.operatorLabels ?? d.operatorPodLabels,
      routerNamespace: o.routerNamespace,
      routerPodLabels: o.routerLabels ?? d.routerPodLabels,
      clusterDomain: o.clusterDomain,
      workspaceSizeLimit: o.workspaceSizeLimit,
      tmpSizeLimit: o.tmpSizeLimit,
      shmSizeLimit: o.shmSizeLimit,
      defaultRunAsUser: o.runAsUser,
    },
    leaderElect: o.leaderElect === "true",
    leaderElectionNamespace: o.leaderElectionNamespace,
    leaderElectionId: o.leaderElectionId,
    leaderElectionTimings: {
      leaseDurationMs: o.leaderElectLeaseDuration,
      renewDeadlineMs: o.leaderElectRenewDeadline,
      retryPeriodMs: o.leaderElectRetryPeriod,
    },
    healthAddress: typeof o.healthAddress === "string" ? listenAddress(o.healthAddress) : o.healthAddress,
    namespace: o.namespace,
    kubeconfig: o.kubeconfig,
    context: o.context,
    workers: { sandbox: o.sandboxWorkers, claim: o.claimWorkers, pool: o.poolWorkers },
  };
}
