// Which of upstream agent-sandbox's e2e tests the conformance tier runs, and why each of the
// others cannot run on the local cluster. Every test and benchmark an upstream binary lists
// must appear here or be run: the runner refuses to start when a name is unaccounted for, so
// a new upstream version cannot add tests that are silently left out.

/** One upstream test binary, built by scripts/lib/build-upstream-e2e.sh. */
export interface UpstreamBinary {
  /** Short name used in the report ("e2e", "extensions"). */
  id: "e2e" | "extensions";
  /** Key of its path in `build-upstream-e2e.sh paths`. */
  pathKey: "E2E_TEST" | "EXTENSIONS_TEST";
  /** Upstream source directory of the package, relative to the module root. */
  sourceDir: string;
  /** Extra environment the package's tests read. */
  env: Record<string, string>;
}

export interface NotRunnable {
  binary: UpstreamBinary["id"];
  /** Top-level Go test or benchmark name. */
  name: string;
  /** The exact reason it cannot run here. */
  reason: string;
}

export const binaries: readonly UpstreamBinary[] = [
  { id: "e2e", pathKey: "E2E_TEST", sourceDir: "test/e2e", env: {} },
  {
    id: "extensions",
    pathKey: "EXTENSIONS_TEST",
    sourceDir: "test/e2e/extensions",
    env: {
      // The runtime-class tests skip themselves unless told which RuntimeClass to test; the
      // local cluster's sandbox runtime is gVisor (RuntimeClass "gvisor").
      SANDBOX_RUNTIME_CLASS: "gvisor",
      // TestRuntimeClassBurstRecovery's pool sizes (upstream's own knob). By default it derives
      // {cpus/2, cpus, 2*cpus} = {1, 2, 4} from the node; a pool of N needs up to 3N sandbox
      // pods at once (N warm, N cold claims, N refills), and 12 do not fit on the node (see
      // podsThatFit below), so the tier runs the sizes that do.
      SANDBOX_POOL_SIZES: "1,2",
    },
  },
];

const portForward =
  "it reaches the sandbox's server with kubectl port-forward; the operator runs every sandbox pod " +
  "that names no RuntimeClass under gVisor (RuntimeClass gvisor), and port-forward cannot reach a " +
  "gVisor pod under containerd 1.x (containerd dials the port in the pod's network namespace, but " +
  "gVisor's own network stack holds the listener)";

/**
 * Sandbox pods the local node runs at once. Under the operator's defaults each sandbox pod
 * requests 200m CPU (100m for the test's container and 100m for the injected execution
 * server); the node has 2 CPUs, of which the cluster's own pods (CoreDNS, the operator, the
 * router) request about 450m.
 */
const podsThatFit = 7;
const capacity = (need: string): string =>
  `needs ${need}; under the operator's default requests each sandbox pod asks for 200m CPU (100m for the ` +
  `test's container, 100m for the injected execution server), and the local node (2 CPUs, one node) has room ` +
  `for about ${podsThatFit} beside the cluster's own pods: the rest stay Pending (FailedScheduling: Insufficient cpu)`;

const benchmark = (covered: string): string => `benchmark (timing only, runs only with -test.bench); ${covered}`;

export const notRunnable: readonly NotRunnable[] = [
  {
    binary: "e2e",
    name: "TestRunChromeSandbox",
    reason:
      "needs upstream's chrome-sandbox image (kind.local/chrome-sandbox), whose entrypoint lives in a separate " +
      "Go module the module proxy does not serve, so it cannot be built here and there is no registry; " +
      "it also reaches Chrome with kubectl port-forward (not possible to gVisor pods), and it ends by " +
      "calling IsKindCluster, which fails the test on a node whose providerID is neither kind:// nor gce://",
  },
  { binary: "e2e", name: "TestParallelSandboxes", reason: capacity("20 Sandboxes Ready at once") },
  {
    binary: "e2e",
    name: "TestParallelSandboxClaimsWithSufficientWarmPool",
    reason: capacity("a warm pool of 25 Ready sandboxes before its 20 claims"),
  },
  {
    binary: "e2e",
    name: "TestParallelSandboxClaimsWithInsufficientWarmPool",
    reason: capacity("20 claimed sandboxes Ready at once (a warm pool of 5, 15 cold starts)"),
  },
  {
    binary: "e2e",
    name: "TestWarmPoolParallelClaim",
    reason: capacity("a warm pool of 10 Ready sandboxes, claimed at once while the pool refills"),
  },
  { binary: "e2e", name: "BenchmarkChromeSandboxStartup", reason: benchmark("same scenario as TestRunChromeSandbox") },
  {
    binary: "e2e",
    name: "BenchmarkChromeSandboxClaimStartup",
    reason: benchmark("needs the chrome-sandbox image (see TestRunChromeSandbox)"),
  },
  {
    binary: "e2e",
    name: "BenchmarkWarmPoolParallelClaim",
    reason: benchmark("same scenario as TestWarmPoolParallelClaim, which does not fit the node"),
  },
  {
    binary: "extensions",
    name: "TestRunPythonRuntimeSandbox",
    reason: `needs upstream's python-runtime-sandbox image and ${portForward}`,
  },
  {
    binary: "extensions",
    name: "TestRunPythonRuntimeSandboxClaim",
    reason: `needs upstream's python-runtime-sandbox image and ${portForward}`,
  },
  {
    binary: "extensions",
    name: "TestRunPythonRuntimeSandboxWarmpool",
    reason: `needs upstream's python-runtime-sandbox image and ${portForward}`,
  },
  { binary: "extensions", name: "TestRunSandboxdSandbox", reason: `needs upstream's sandboxd image and ${portForward}` },
  {
    binary: "extensions",
    name: "TestChromeSandboxDensity",
    reason:
      "opt-in performance load test (-run-perf-load-test) that packs 20 Chrome sandboxes onto one node; needs the " +
      "chrome-sandbox image (see TestRunChromeSandbox) and checks Chrome with kubectl exec + wget inside it",
  },
  {
    binary: "extensions",
    name: "TestPythonSandboxDensity",
    reason:
      "opt-in performance load test (-run-perf-load-test); needs the MovieLens data set on the node at /tmp/movielens " +
      "(an external download) and 20 python-runtime-sandbox pods on one node",
  },
  {
    binary: "extensions",
    name: "BenchmarkRuntimeClassColdStart",
    reason: benchmark("cold start is measured by TestRuntimeClassStartupComparison"),
  },
  {
    binary: "extensions",
    name: "BenchmarkRuntimeClassWarmClaim",
    reason: benchmark("warm claims are measured by TestRuntimeClassStartupComparison"),
  },
];

/** The not-runnable top-level tests of one binary. */
export function notRunnableIn(binary: UpstreamBinary["id"]): NotRunnable[] {
  return notRunnable.filter((n) => n.binary === binary);
}

/** `-test.skip` pattern for a binary's not-runnable tests (benchmarks never run without -test.bench). */
export function skipPattern(binary: UpstreamBinary["id"]): string | undefined {
  const tests = notRunnableIn(binary)
    .map((n) => n.name)
    .filter((n) => n.startsWith("Test"));
  return tests.length ? `^(${tests.join("|")})$` : undefined;
}

/**
 * Names a binary lists (`-test.list`) that the plan neither runs nor explains, and plan
 * entries the binary does not have (a renamed or removed upstream test). Every Test* the
 * plan does not list runs; benchmarks, examples and fuzz targets never run, so each one
 * must be listed with its reason.
 */
export function unaccounted(binary: UpstreamBinary["id"], listed: readonly string[]): { unknown: string[]; stale: string[] } {
  const planned = new Set(notRunnableIn(binary).map((n) => n.name));
  return {
    unknown: listed.filter((n) => !n.startsWith("Test") && !planned.has(n)),
    stale: [...planned].filter((n) => !listed.includes(n)),
  };
}
