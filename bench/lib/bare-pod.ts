// The cold-start scenario's baseline: a bare Pod with exactly the spec the operator rendered
// for a Sandbox, so the only difference measured is the operator itself.

export type PodSpec = Record<string, unknown> & {
  volumes?: Array<{ name: string; secret?: { secretName?: string } }>;
  nodeName?: string;
  priority?: number;
  preemptionPolicy?: string;
  hostname?: string;
};

/**
 * The operator's pod spec, made into a bare pod's. Pure. Dropped: the node binding (the
 * scheduler places the bare pod, as it placed the operator's), the priority and preemption
 * policy admission computed (it rejects a pod that brings its own), the hostname (the pod's
 * name then). The execd token volume is pointed at `tokenSecret`. Labels and owner references
 * are not part of a spec, so no sandbox NetworkPolicy or controller selects the bare pod.
 */
export function bareSpecFrom(operatorPod: { spec?: unknown }, sandboxName: string, tokenSecret: string): PodSpec {
  if (!operatorPod.spec || typeof operatorPod.spec !== "object") throw new Error(`the pod of Sandbox ${sandboxName} has no spec`);
  const spec = structuredClone(operatorPod.spec) as PodSpec;
  delete spec.nodeName;
  delete spec.priority;
  delete spec.preemptionPolicy;
  delete spec.hostname;
  let rewritten = 0;
  for (const v of spec.volumes ?? []) {
    if (v.secret?.secretName === `${sandboxName}-execd-token`) {
      v.secret.secretName = tokenSecret;
      rewritten++;
    }
  }
  if (rewritten === 0) throw new Error(`the pod of Sandbox ${sandboxName} has no volume from Secret ${sandboxName}-execd-token; cannot give the bare pod a token`);
  return spec;
}
