// The token a caller presents, read from its Authorization header.
import { bearerToken } from "../shared/http/bearer.js";
import { unauthenticated } from "./errors.js";

const BASIC = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i;

/**
 * The token in `Authorization: Bearer <token>`, or in the password of
 * `Authorization: Basic base64(user:token)` (the user name is ignored). Basic is accepted
 * because some clients can only attach credentials that way — for instance HTTP libraries
 * that read `~/.netrc` for a host when the caller's code sets no header of its own, as
 * upstream's Python client does in its port-forward mode. The token is checked exactly like
 * a bearer token afterwards. Throws a 401 RouterError when there is no usable token.
 */
export function presentedToken(header: string | undefined): string {
  if (!header) throw unauthenticated("missing Authorization: Bearer <token> (a Kubernetes token or a sandbox token from this router)");
  const bearer = bearerToken(header);
  if (bearer) return bearer;
  const basic = BASIC.exec(header)?.[1];
  if (basic) {
    const decoded = Buffer.from(basic, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    const password = colon < 0 ? "" : decoded.slice(colon + 1).trim();
    if (password && !/\s/.test(password)) return password;
    throw unauthenticated("Basic credentials must carry the token as the password (user:token)");
  }
  throw unauthenticated("the Authorization header must be 'Bearer <token>' (or Basic with the token as the password)");
}
