// A Kube client for objects that must hold one but never talk to an API server in unit tests
// (informers that are filled with seed() and never started).
import { KubeConfig } from "@kubernetes/client-node";
import { Kube } from "../../src/runtime/index.js";

/** A Kube whose server is an address nothing listens on; a test that makes it call out fails at once. */
export function unstartedKube(): Kube {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: "none", server: "https://127.0.0.1:1" }],
    users: [{ name: "none" }],
    contexts: [{ name: "none", cluster: "none", user: "none" }],
    currentContext: "none",
  });
  return new Kube(kc);
}
