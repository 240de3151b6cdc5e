// A small dynamic volume provisioner for the tier. Upstream's volumeClaimTemplates tests
// expect what kind clusters ship (a default StorageClass with a provisioner): a PVC they
// create gets bound, and the sandbox pod that mounts it starts. The local cluster has no
// storage, so while the tier runs this installs a default StorageClass and answers each of
// its pending PVCs with a hostPath PersistentVolume under a directory of its own on the node
// (the cluster has one node, this machine). Released volumes are deleted with their data.
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { CoreV1Api, StorageV1Api, type KubeConfig, type V1PersistentVolume, type V1PersistentVolumeClaim } from "@kubernetes/client-node";

export const STORAGE_CLASS = "agent-sandbox-conformance";
export const PROVISIONER = "conformance.agent-sandbox.local/hostpath";
const DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class";
const POLL_MS = 1_000;

/** The PersistentVolume that answers `pvc`, pre-bound to it. Pure. */
export function volumeFor(pvc: V1PersistentVolumeClaim, root: string): V1PersistentVolume {
  const uid = pvc.metadata?.uid ?? "";
  const name = `conformance-pvc-${uid}`;
  return {
    apiVersion: "v1",
    kind: "PersistentVolume",
    metadata: { name, annotations: { "pv.kubernetes.io/provisioned-by": PROVISIONER } },
    spec: {
      storageClassName: STORAGE_CLASS,
      capacity: { storage: pvc.spec?.resources?.requests?.["storage"] ?? "1Gi" },
      accessModes: pvc.spec?.accessModes?.length ? pvc.spec.accessModes : ["ReadWriteOnce"],
      persistentVolumeReclaimPolicy: "Delete",
      volumeMode: pvc.spec?.volumeMode ?? "Filesystem",
      hostPath: { path: join(root, name), type: "DirectoryOrCreate" },
      claimRef: {
        apiVersion: "v1",
        kind: "PersistentVolumeClaim",
        namespace: pvc.metadata?.namespace ?? "",
        name: pvc.metadata?.name ?? "",
        uid,
      },
    },
  };
}

/** Whether `pvc` waits for this provisioner. Pure. */
export function wantsVolume(pvc: V1PersistentVolumeClaim): boolean {
  return (
    pvc.spec?.storageClassName === STORAGE_CLASS &&
    !pvc.spec.volumeName &&
    pvc.status?.phase === "Pending" &&
    !pvc.metadata?.deletionTimestamp
  );
}

export interface Provisioner {
  /** Volumes created so far. */
  readonly provisioned: () => number;
  /** Stops, deletes the StorageClass and every released volume it made. */
  stop: () => Promise<void>;
}

/** Installs the default StorageClass and starts answering PVCs; `root` must exist on the node. */
export async function startProvisioner(kc: KubeConfig, root: string, log: (msg: string) => void): Promise<Provisioner> {
  const core = kc.makeApiClient(CoreV1Api);
  const storage = kc.makeApiClient(StorageV1Api);
  const others = (await storage.listStorageClass()).items.filter(
    (c) => c.metadata?.name !== STORAGE_CLASS && c.metadata?.annotations?.[DEFAULT_CLASS_ANNOTATION] === "true",
  );
  if (others.length) log(`another default StorageClass exists (${others.map((c) => c.metadata?.name).join(", ")}); PVCs may use it`);
  await storage.deleteStorageClass({ name: STORAGE_CLASS }).catch(() => undefined);
  await storage.createStorageClass({
    body: {
      metadata: { name: STORAGE_CLASS, annotations: { [DEFAULT_CLASS_ANNOTATION]: "true" } },
      provisioner: PROVISIONER,
      reclaimPolicy: "Delete",
      volumeBindingMode: "Immediate",
    },
  });
  mkdirSync(root, { recursive: true });

  let count = 0;
  let running = true;
  const reconcile = async (): Promise<void> => {
    for (const pvc of (await core.listPersistentVolumeClaimForAllNamespaces()).items.filter(wantsVolume)) {
      const pv = volumeFor(pvc, root);
      try {
        await core.createPersistentVolume({ body: pv });
        count++;
        log(`provisioned ${pv.metadata?.name} (${pv.spec?.capacity?.["storage"]}) for ${pvc.metadata?.namespace}/${pvc.metadata?.name}`);
      } catch (e) {
        if (!String(e).includes("AlreadyExists") && !String(e).includes("409"))
          log(`provisioning for ${pvc.metadata?.name} failed: ${String(e)}`);
      }
    }
    await deleteReleased(core, root);
  };
  const loop = (async () => {
    while (running) {
      await reconcile().catch((e: unknown) => log(`provisioner pass failed: ${String(e)}`));
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  })();

  return {
    provisioned: () => count,
    stop: async () => {
      running = false;
      await loop;
      await storage.deleteStorageClass({ name: STORAGE_CLASS }).catch(() => undefined);
      await deleteReleased(core, root).catch(() => undefined);
      const left = (await core.listPersistentVolume()).items.filter((pv) => pv.spec?.storageClassName === STORAGE_CLASS);
      if (left.length) log(`volumes still bound after the tier: ${left.map((pv) => pv.metadata?.name).join(", ")}`);
      else rmSync(root, { recursive: true, force: true });
    },
  };
}

/** Deletes this provisioner's volumes whose claims are gone, and their directories. */
async function deleteReleased(core: CoreV1Api, root: string): Promise<void> {
  for (const pv of (await core.listPersistentVolume()).items) {
    const mine = pv.metadata?.annotations?.["pv.kubernetes.io/provisioned-by"] === PROVISIONER;
    if (!mine || (pv.status?.phase !== "Released" && pv.status?.phase !== "Failed")) continue;
    const name = pv.metadata?.name ?? "";
    await core.deletePersistentVolume({ name }).catch(() => undefined);
    rmSync(join(root, name), { recursive: true, force: true });
  }
}
