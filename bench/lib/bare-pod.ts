// The cold-start scenario's baseline: a bare Pod with exactly the spec the operator rendered
// for a Sandbox, so the only difference measured is the operator itself.

interface Container {
  name: string;
  args?: string[];
}

export type PodSpec = Record<string, unknown> & {
  containers?: Container[];
  initContainers?: Container[];
  nodeName?: string;
  priority?: number;
  preemptionPolicy?: string;
  hostname?: string;
};

/** Arguments that bind the execution server to the Sandbox and the router's key (each takes a value). */
const SIGNED_TOKEN_ARGS = new Set(["--sandbox", "--trusted-key"]);

/**
 * The operator's pod spec, made into a bare pod's. Pure. Dropped: the node binding (the
 * scheduler places the bare pod, as it placed the operator's), the priority and preemption
 * policy admission computed (it rejects a pod that brings its own), the hostname (the pod's
 * name then). The execution server is given the fixed `token` in place of the sandbox identity
 * and router key it was told (the bench calls the bare pod directly, with no router to sign
 * for it). Labels and owner references are not part of a spec, so no sandbox NetworkPolicy or
 * controller selects the bare pod.
 */
export function bareSpecFrom(operatorPod: { spec?: unknown }, sandboxName: string, token: string): PodSpec {
  if (!operatorPod.spec || typeof operatorPod.spec !== "object") throw new Error(`the pod of Sandbox ${sandboxName} has no spec`);
  const spec = structuredClone(operatorPod.spec) as PodSpec;
  delete spec.nodeName;
  delete spec.priority;
  delete spec.preemptionPolicy;
  delete spec.hostname;
  const execd = [...(spec.initContainers ?? []), ...(spec.containers ?? [])].find((c) => c.name === "sandbox-execd");
  const args = execd?.args ?? [];
  if (!execd || !args.includes("--sandbox"))
    throw new Error(
      `the pod of Sandbox ${sandboxName} has no execution server bound to it (no --sandbox); cannot give the bare pod a token`,
    );
  execd.args = [...args.filter((arg, i) => !SIGNED_TOKEN_ARGS.has(arg) && !SIGNED_TOKEN_ARGS.has(args[i - 1] ?? "")), "--token", token];
  return spec;
}
