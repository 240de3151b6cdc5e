// Tokens the router signs for a sandbox's execution server (see SECURITY.md, "Execution-server tokens").
export * from "./claims.js";
export * from "./keys.js";
export * from "./signer.js";
export * from "./verifier.js";
