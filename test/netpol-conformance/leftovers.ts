// Namespaces an interrupted run of Kubernetes' NetworkPolicy e2e tests leaves behind: the
// framework deletes each spec's namespaces when the spec ends, but not when the run is killed.
import { CoreV1Api, KubeConfig } from "@kubernetes/client-node";

/** The e2e framework names each spec's namespaces netpol-x-N, netpol-y-N and netpol-z-N, and labels them e2e-run. */
const SPEC_NAMESPACE = /^netpol-[xyz]-\d+$/;

/** Deletes the namespaces of earlier runs; returns their names. */
export async function deleteLeftoverNamespaces(kubeconfig: string): Promise<string[]> {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  const core = kc.makeApiClient(CoreV1Api);
  const leftovers = (await core.listNamespace()).items
    .filter(
      (n) => SPEC_NAMESPACE.test(n.metadata?.name ?? "") && n.metadata?.labels?.["e2e-run"] !== undefined && !n.metadata?.deletionTimestamp,
    )
    .map((n) => n.metadata?.name ?? "");
  for (const name of leftovers) await core.deleteNamespace({ name });
  return leftovers;
}
