import { isDeepStrictEqual } from "node:util";
import { SandboxConditionType, type Sandbox } from "../../api/index.js";
import { findCondition } from "../../runtime/index.js";

/**
 * Whether an update of a claim's Sandbox changes anything the claim reconciler reads: its
 * deletion, its owner references and labels (adoption moves both, and the launch-type label
 * decides the claim's annotation), its pod IPs and service name (mirrored into the claim's
 * status), and its Ready and Finished conditions, compared whole (an expiry shows only in
 * Ready's reason). The Sandbox controller's other status writes then do not wake the claim.
 */
export function sandboxChangeMattersToClaim(sandbox: Sandbox, old: Sandbox): boolean {
  const a = sandbox.metadata;
  const b = old.metadata;
  if (
    !isDeepStrictEqual(a.deletionTimestamp, b.deletionTimestamp) ||
    !isDeepStrictEqual(a.ownerReferences ?? [], b.ownerReferences ?? []) ||
    !isDeepStrictEqual(a.labels ?? {}, b.labels ?? {}) ||
    !isDeepStrictEqual(sandbox.status?.podIPs ?? [], old.status?.podIPs ?? []) ||
    sandbox.status?.serviceFQDN !== old.status?.serviceFQDN
  )
    return true;
  return [SandboxConditionType.Ready, SandboxConditionType.Finished].some(
    (type) => !isDeepStrictEqual(findCondition(sandbox.status?.conditions, type), findCondition(old.status?.conditions, type)),
  );
}
