import type { KubernetesObject } from "@kubernetes/client-node";
import type { Kube } from "../../../src/runtime/index.js";
import { waitFor } from "../harness/cluster.js";

export type Obj = KubernetesObject & {
  spec?: Record<string, unknown>;
  status?: {
    conditions?: Array<{ type: string; status: string; reason?: string }>;
    podIPs?: string[];
    readyReplicas?: number;
    replicas?: number;
    sandbox?: { name?: string };
  };
};

export interface CallOptions {
  method?: string;
  token?: string | undefined;
  headers?: Record<string, string>;
  body?: unknown;
}

export async function call<T = Record<string, unknown>>(
  url: string,
  opts: CallOptions = {},
): Promise<{ status: number; headers: Headers; body: T }> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers["authorization"] = `Bearer ${opts.token}`;
  let body: string | undefined;
  if (opts.body !== undefined) {
    body = typeof opts.body === "string" ? opts.body : JSON.stringify(opts.body);
    headers["content-type"] ??= "application/json";
  }
  const res = await fetch(url, { method: opts.method ?? (body ? "POST" : "GET"), headers, body });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : {};
  } catch {
    // not JSON (e.g. a raw file)
  }
  return { status: res.status, headers: res.headers, body: parsed as T };
}

const SB = "agents.x-k8s.io/v1beta1";
const EXT = "extensions.agents.x-k8s.io/v1beta1";

export const readyCondition = (o: Obj) => o.status?.conditions?.find((c) => c.type === "Ready");

export function sandboxReady(kube: Kube, namespace: string, name: string, timeoutMs = 60_000): Promise<Obj> {
  return waitFor(
    async () => {
      const s = await kube.get<Obj>({ apiVersion: SB, kind: "Sandbox", namespace, name });
      return readyCondition(s)?.status === "True" && (s.status?.podIPs?.length ?? 0) > 0 ? s : undefined;
    },
    { timeoutMs, message: `sandbox ${name} Ready` },
  );
}

export function poolReady(kube: Kube, namespace: string, name: string, replicas: number): Promise<Obj> {
  return waitFor(
    async () => {
      const p = await kube.get<Obj>({ apiVersion: EXT, kind: "SandboxWarmPool", namespace, name });
      return p.status?.readyReplicas === replicas ? p : undefined;
    },
    { timeoutMs: 60_000, message: `pool ${name} ${replicas} Ready` },
  );
}

export function getClaim(kube: Kube, namespace: string, name: string): Promise<Obj> {
  return kube.get<Obj>({ apiVersion: EXT, kind: "SandboxClaim", namespace, name });
}

/** Reads NDJSON lines from a streaming response one at a time. */
export async function* ndjsonLines(res: Response): AsyncGenerator<Record<string, unknown>> {
  if (!res.body) return;
  const decoder = new TextDecoder();
  let buffered = "";
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buffered += decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = buffered.indexOf("\n")) >= 0) {
      const line = buffered.slice(0, nl).trim();
      buffered = buffered.slice(nl + 1);
      if (line) yield JSON.parse(line) as Record<string, unknown>;
    }
  }
  if (buffered.trim()) yield JSON.parse(buffered) as Record<string, unknown>;
}
