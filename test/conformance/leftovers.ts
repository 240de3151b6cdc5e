// Cleans up after upstream's tests where their own cleanup cannot: a few tests put a "hold"
// finalizer on a Pod or Sandbox and take it off only if they get that far, and a binary that
// is killed runs no cleanup at all. After the binaries finish, the tier strips those finalizers
// and deletes the namespaces the tests created that are still there.
import { CoreV1Api, CustomObjectsApi, type KubeConfig, type V1ObjectMeta } from "@kubernetes/client-node";

/** The finalizers upstream's tests add to hold an object in Terminating (and nothing else uses). */
export const TEST_HOLD_FINALIZERS: readonly string[] = ["e2e.agent-sandbox.dev/hold-delete", "agents.x-k8s.io/test-hold"];

/** Upstream's tests name their namespaces `<prefix>-<time.Now().UnixNano()>`. */
const TEST_NAMESPACE = /-\d{9,}$/;

/** A JSON patch that removes the test-hold finalizers, or undefined when there are none. Pure. */
export function releasePatch(meta: V1ObjectMeta | undefined): object[] | undefined {
  const finalizers = meta?.finalizers ?? [];
  const kept = finalizers.filter((f) => !TEST_HOLD_FINALIZERS.includes(f));
  if (kept.length === finalizers.length) return undefined;
  return [
    { op: "test", path: "/metadata/finalizers", value: finalizers },
    { op: "replace", path: "/metadata/finalizers", value: kept },
  ];
}

/** Namespaces created during the run (not in `before`) that look like upstream test namespaces. Pure. */
export function leftoverNamespaces(before: ReadonlySet<string>, now: readonly string[]): string[] {
  return now.filter((n) => !before.has(n) && TEST_NAMESPACE.test(n));
}

export async function namespaceNames(kc: KubeConfig): Promise<Set<string>> {
  const list = await kc.makeApiClient(CoreV1Api).listNamespace();
  return new Set(list.items.map((n) => n.metadata?.name ?? ""));
}

/** Releases held objects and deletes the namespaces the tests left; returns what it did. */
export async function cleanLeftovers(kc: KubeConfig, before: ReadonlySet<string>): Promise<string[]> {
  const core = kc.makeApiClient(CoreV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const done: string[] = [];
  for (const pod of (await core.listPodForAllNamespaces()).items) {
    const body = releasePatch(pod.metadata);
    const { name = "", namespace = "" } = pod.metadata ?? {};
    if (
      body &&
      (await core.patchNamespacedPod({ name, namespace, body }).then(
        () => true,
        () => false,
      ))
    ) {
      done.push(`released pod ${namespace}/${name}`);
    }
  }
  const sandboxes = { group: "agents.x-k8s.io", version: "v1beta1", plural: "sandboxes" };
  const list = (await custom.listClusterCustomObject(sandboxes)) as { items?: { metadata?: V1ObjectMeta }[] };
  for (const sandbox of list.items ?? []) {
    const body = releasePatch(sandbox.metadata);
    const { name = "", namespace = "" } = sandbox.metadata ?? {};
    if (
      body &&
      (await custom.patchNamespacedCustomObject({ ...sandboxes, namespace, name, body }).then(
        () => true,
        () => false,
      ))
    ) {
      done.push(`released sandbox ${namespace}/${name}`);
    }
  }
  const live = (await core.listNamespace()).items.filter((n) => !n.metadata?.deletionTimestamp).map((n) => n.metadata?.name ?? "");
  for (const ns of leftoverNamespaces(before, live)) {
    if (
      await core.deleteNamespace({ name: ns }).then(
        () => true,
        () => false,
      )
    )
      done.push(`deleted namespace ${ns}`);
  }
  return done;
}
