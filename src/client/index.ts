// The TypeScript SDK of agent-sandbox-ts (exported by the package root).
export { SandboxClient, createSandbox, type SandboxClientOptions } from "./client.js";
export { Sandbox, SandboxFiles, SandboxCommands } from "./sandbox.js";
export type { DirectAddressMapper } from "./kube-connection.js";
export * from "./errors.js";
export type * from "./types.js";
