import { readBody } from "../http/body.js";
import { badRequest, sendJson } from "../http/errors.js";
import { PRIVATE_ENV } from "../config.js";
import type { RouteCall, RouteDeps } from "./context.js";

/** A name every shell can export: letters, digits and underscores, not starting with a digit. */
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Enough for any sane set of variables; the operator sends one claim's worth. */
const MAX_ENV_BODY_BYTES = 1024 * 1024;

/**
 * Reads `{"env": {NAME: value}}`. Its errors name the field but never quote the body: the
 * values are often secrets, and a refused request's message is logged.
 */
export function parseEnvBody(raw: Buffer): Record<string, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.length ? raw.toString("utf8") : "{}");
  } catch {
    throw badRequest("request body is not valid JSON");
  }
  const env = typeof parsed === "object" && parsed !== null && !Array.isArray(parsed) ? (parsed as { env?: unknown }).env : undefined;
  if (typeof env !== "object" || env === null || Array.isArray(env)) throw badRequest('invalid field "env": expected an object of strings');
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (!ENV_NAME.test(name)) throw badRequest(`invalid field "env": "${name}" is not a valid variable name`);
    if (PRIVATE_ENV.includes(name)) throw badRequest(`invalid field "env": "${name}" is reserved for the server`);
    if (typeof value !== "string") throw badRequest(`invalid field "env.${name}": expected a string`);
    out[name] = value;
  }
  return out;
}

/**
 * PUT /v1/env {env}: variables every context sees from now on, the running ones included
 * (see ContextManager.setSessionEnv). Only the operator's tokens open it. The log names the
 * variables, never their values.
 */
export async function putEnvRoute(deps: RouteDeps, { req, res }: RouteCall): Promise<void> {
  let raw: Buffer;
  try {
    raw = await readBody(req, MAX_ENV_BODY_BYTES);
  } catch (err) {
    // The operator opens its request while it adopts the sandbox and drops it if another claim
    // won: an expected end, not a server error.
    if (req.destroyed && !req.complete) throw badRequest("the request was given up before its body arrived");
    throw err;
  }
  const env = parseEnvBody(raw);
  const names = Object.keys(env).sort();
  const { contexts } = deps.contexts.setSessionEnv(env);
  deps.logger.info({ names, contexts }, "environment set");
  sendJson(res, 200, { names, contexts });
}
