// Public surface of the controller runtime. See README.md in this directory.
export * from "./workqueue.js";
export * from "./controller.js";
export * from "./informer.js";
export * from "./kube.js";
export * from "./errors.js";
export * from "./conditions.js";
export * from "./ownerrefs.js";
export * from "./events.js";
export * from "./leader.js";
export * from "./manager.js";
export * from "./keys.js";
export * from "./logger.js";
export * from "./metrics.js";
export * from "./kubeconfig.js";
export * from "./connection.js";
export * from "./exec-credential.js";
export * from "./micro-time.js";
