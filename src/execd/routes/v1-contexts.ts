import { readJson } from "../http/body.js";
import { sendJson } from "../http/errors.js";
import { createContextSchema } from "../schemas.js";
import type { RouteCall, RouteDeps } from "./context.js";

/** POST /v1/contexts {language, id?} -> 201 context */
export async function createContextRoute(deps: RouteDeps, { req, res }: RouteCall): Promise<void> {
  const body = await readJson(req, 64 * 1024, createContextSchema);
  sendJson(res, 201, await deps.contexts.create(body.language, body.id));
}

/** GET /v1/contexts -> {contexts: [...]} */
export async function listContextsRoute(deps: RouteDeps, { res }: RouteCall): Promise<void> {
  sendJson(res, 200, { contexts: deps.contexts.list() });
}

/** GET /v1/contexts/{id} */
export async function getContextRoute(deps: RouteDeps, { res, rest }: RouteCall): Promise<void> {
  sendJson(res, 200, deps.contexts.get(rest));
}

/** POST /v1/contexts/{id}/restart: fresh interpreter, state dropped on purpose. */
export async function restartContextRoute(deps: RouteDeps, { res, rest }: RouteCall): Promise<void> {
  sendJson(res, 200, await deps.contexts.restart(rest));
}

/** POST /v1/contexts/{id}/interrupt: stop the running call, keep the interpreter. */
export async function interruptContextRoute(deps: RouteDeps, { res, rest }: RouteCall): Promise<void> {
  sendJson(res, 200, { id: rest, ...deps.contexts.interrupt(rest) });
}

/** DELETE /v1/contexts/{id} */
export async function deleteContextRoute(deps: RouteDeps, { res, rest }: RouteCall): Promise<void> {
  await deps.contexts.delete(rest);
  sendJson(res, 200, { id: rest, deleted: true });
}
