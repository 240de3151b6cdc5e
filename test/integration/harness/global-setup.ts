// vitest globalSetup for the integration tier: one real control plane for the whole run.
// Tests read its coordinates with inject("cluster") (see cluster.ts); the admin kubeconfig path is
// also exported as AGENT_SANDBOX_TEST_KUBECONFIG for child processes.
import type { TestProject } from "vitest/node";
import { startControlPlane, type ClusterInfo } from "./control-plane.js";

declare module "vitest" {
  export interface ProvidedContext {
    cluster: ClusterInfo;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const cp = await startControlPlane();
  project.provide("cluster", cp.info);
  process.env["AGENT_SANDBOX_TEST_KUBECONFIG"] = cp.info.kubeconfig;
  return async () => {
    await cp.stop();
  };
}
