// POST /v1/sandboxes/{id}/execd-token: a token for a sandbox's execution server, for callers that
// reach the pod themselves (the SDK's Kubernetes mode, from the router's namespace and labels).
// The router is the only holder of the signing key, so this is how such a caller gets a
// credential without anyone being able to read Secrets.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { RouterDeps } from "./deps.js";
import { RouterError, sendJson } from "./errors.js";
import { serving } from "./proxy-route.js";
import { resolveTarget, targetOf } from "./resolve.js";
import type { ExecdTokenAnswer } from "../shared/sandbox/execd-token-answer.js";

/**
 * Issues the token to a Kubernetes caller that may run code in the sandbox (`create
 * sandboxes/exec`, as for a call through the router), once the sandbox serves. `id` is looked
 * up as a claim first, then as a Sandbox. A sandbox token cannot be exchanged for one: its
 * holder goes through the router.
 */
export async function issueExecdToken(
  deps: RouterDeps,
  req: IncomingMessage,
  res: ServerResponse,
  namespace: string,
  id: string,
): Promise<void> {
  const caller = await deps.auth.authenticate(req);
  if (caller.kind === "scoped")
    throw new RouterError(403, "forbidden", "a sandbox token cannot be exchanged for an execution-server token; use a Kubernetes token");
  const r = resolveTarget(deps.caches, namespace, id, deps.now(), { preferClaim: true });
  // Authorized before anything about the target is told, as on the proxy path.
  await deps.auth.authorize(caller, { kind: "exec", namespace, requestedName: id, target: targetOf(r) });
  const ready = serving(deps, { namespace, id, port: deps.config.execPort, path: "/" }, r);
  const sandbox = { namespace, name: ready.sandbox.metadata.name ?? id, uid: ready.sandbox.metadata.uid ?? "" };
  const { token, expiresAtMs } = await deps.execdTokens.tokenFor(sandbox, deps.now());
  const answer: ExecdTokenAnswer = {
    id,
    namespace,
    sandbox: { name: sandbox.name, uid: sandbox.uid },
    podIP: ready.podIP,
    port: deps.config.execPort,
    token,
    expiresAt: new Date(expiresAtMs).toISOString(),
  };
  sendJson(res, 200, answer);
}
