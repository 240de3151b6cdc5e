// Defaults the router and the SDK's Kubernetes mode must agree on.

/** Port of the execution server in sandbox pods (upstream's runtimes use 8888 too). */
export const DEFAULT_EXEC_PORT = 8888;
/** TTL of a sandbox created through the management API or the SDK when the caller names none. */
export const DEFAULT_TTL_SECONDS = 3600;
