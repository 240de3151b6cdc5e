// The API objects as read from the API server: the typed spec and status with Kubernetes' object
// metadata. Shared by the router and the SDK's Kubernetes mode.
import type { KubernetesObject } from "@kubernetes/client-node";
import type { Sandbox, SandboxClaim, SandboxWarmPool } from "../../api/index.js";

/** A Sandbox as read from the API server. */
export type SandboxObject = Sandbox & KubernetesObject;
/** A SandboxClaim as read from the API server. */
export type ClaimObject = SandboxClaim & KubernetesObject;
/** A SandboxWarmPool as read from the API server. */
export type PoolObject = SandboxWarmPool & KubernetesObject;
