// POST /v1/sandboxes/{id}/execd-token: a token for a sandbox's execution server, for callers that
// reach the pod themselves (the SDK's Kubernetes mode, from the router's namespace and labels).
// The router is the only holder of the signing key, so this is how such a caller gets a
// credential without anyone being able to read Secrets.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { RouterDeps } from "./deps.js";
import { RouterError, sendJson } from "./errors.js";
import { serving } from "./proxy-route.js";
import { resolveTarget, targetOf, type Resolution } from "./resolve.js";
import { wakeIfIdle } from "./wake.js";
import type { ExecdTokenAnswer } from "../shared/sandbox/execd-token-answer.js";

/**
 * Issues the token to a Kubernetes caller that may run code in the sandbox (`create
 * sandboxes/exec`, as for a call through the router), once the sandbox serves (one suspended for
 * idleness is woken first). `id` is looked up as a claim first, then as a Sandbox. A sandbox token cannot be exchanged for one: its
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
  const resolve = (): Resolution => resolveTarget(deps.caches, namespace, id, deps.now(), { preferClaim: true });
  let r = resolve();
  // Authorized before anything about the target is told, as on the proxy path.
  const authorize = (target: Resolution): Promise<void> =>
    deps.auth.authorize(caller, { kind: "exec", namespace, requestedName: id, target: targetOf(target) });
  await authorize(r);
  // The caller is about to run code in it: a sandbox suspended for idleness wakes, as for a call.
  const woken = await wakeIfIdle(deps, { namespace, id, resolve }, res, r);
  if (woken !== r) {
    r = woken;
    await authorize(r);
  }
  const ready = serving(deps, { namespace, id, port: deps.config.execPort, path: "/" }, r);
  // Its calls then go to the pod directly: the token's issue is the router's sign of activity.
  deps.activity.touch(ready.sandbox);
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
