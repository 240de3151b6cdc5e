import type { V1EnvVar } from "@kubernetes/client-node";
import { SandboxClaimReason, type ClaimEnvVar } from "../../api/index.js";

/** The container's form of a claim's variable: a literal, or a reference the kubelet resolves. */
export function podEnvVar(e: ClaimEnvVar): V1EnvVar {
  const ref = e.valueFrom?.secretKeyRef;
  if (ref) return { name: e.name, valueFrom: { secretKeyRef: { name: ref.name, key: ref.key } } };
  return { name: e.name, value: e.value ?? "" };
}

/** A Secret as far as env needs it: its data, base64 as the API serves it. */
export interface SecretData {
  data?: Record<string, string> | undefined;
}

/** Reads one Secret of the claim's namespace (a direct GET: no Secret is ever cached). */
export type ReadSecret = (name: string) => Promise<SecretData | undefined>;

/** The claim's variables by name, or why they cannot be had yet. */
export type ResolvedEnv =
  { ok: true; env: Record<string, string> } | { ok: false; reason: string; message: string; secret: string; key: string };

/**
 * The claim's env with every Secret reference read, each Secret once. A missing Secret or key is
 * reported by name (never a value); later entries win over earlier ones of the same name, as in
 * a container's env.
 */
export async function resolveClaimEnv(env: readonly ClaimEnvVar[], readSecret: ReadSecret): Promise<ResolvedEnv> {
  const secrets = new Map<string, Promise<SecretData | undefined>>();
  const out: Record<string, string> = {};
  for (const [i, e] of env.entries()) {
    const ref = e.valueFrom?.secretKeyRef;
    if (!ref) {
      out[e.name] = e.value ?? "";
      continue;
    }
    let pending = secrets.get(ref.name);
    if (!pending) {
      pending = readSecret(ref.name);
      secrets.set(ref.name, pending);
    }
    const secret = await pending;
    const missing = (what: string) => ({
      ok: false as const,
      reason: SandboxClaimReason.EnvSecretNotFound,
      message: `spec.env[${i}] (${e.name}): ${what}; the claim is retried until it exists`,
      secret: ref.name,
      key: ref.key,
    });
    if (!secret) return missing(`Secret "${ref.name}" not found in the claim's namespace`);
    const encoded = secret.data?.[ref.key];
    if (encoded === undefined) return missing(`Secret "${ref.name}" has no key "${ref.key}"`);
    out[e.name] = Buffer.from(encoded, "base64").toString("utf8");
  }
  return { ok: true, env: out };
}
