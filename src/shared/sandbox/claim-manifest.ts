// The SandboxClaim the management API (and the SDK/CLI in Kubernetes mode) creates. Pure.
import { randomBytes } from "node:crypto";
import type { KubernetesObject } from "@kubernetes/client-node";
import { RouterKeys, SandboxClaimGVK, toShutdownTime, type ClaimEnvVarInput, type SandboxClaimSpecInput } from "../../api/index.js";

/** What a caller asks for when it creates a sandbox. */
export interface ClaimRequest {
  namespace: string;
  warmPool: string;
  template?: string | undefined;
  ttlSeconds: number;
  displayName?: string | undefined;
  labels?: Record<string, string> | undefined;
  createdBy?: string | undefined;
  /** Defaults to sbx-<10 hex>. */
  name?: string | undefined;
  /** The claim's spec.env: literal values and Secret references, subject to the template's policy. */
  env?: readonly ClaimEnvVarInput[] | undefined;
}

/** A fresh claim name: sbx- and 10 hex digits. */
export const newSandboxId = (): string => `sbx-${randomBytes(5).toString("hex")}`;

/** The SandboxClaim for a request, its TTL counted from nowMs. */
export function claimManifest(r: ClaimRequest, nowMs: number): KubernetesObject & { spec: SandboxClaimSpecInput } {
  return {
    apiVersion: SandboxClaimGVK.apiVersion,
    kind: SandboxClaimGVK.kind,
    metadata: {
      name: r.name ?? newSandboxId(),
      namespace: r.namespace,
      labels: { ...r.labels, ...(r.template ? { [RouterKeys.Template]: r.template } : {}) },
      annotations: {
        [RouterKeys.TtlSeconds]: String(r.ttlSeconds),
        ...(r.createdBy ? { [RouterKeys.CreatedByUser]: r.createdBy } : {}),
        ...(r.displayName ? { [RouterKeys.DisplayName]: r.displayName } : {}),
      },
    },
    spec: {
      warmPoolRef: { name: r.warmPool },
      // Retain: when the TTL runs out the Sandbox goes but the claim stays, so its owner can
      // still see that it expired (and when); deleting the sandbox removes the claim.
      lifecycle: { shutdownTime: toShutdownTime(nowMs + r.ttlSeconds * 1000), shutdownPolicy: "Retain" },
      ...(r.env?.length ? { env: r.env.map((e) => structuredClone(e)) } : {}),
    },
  };
}
