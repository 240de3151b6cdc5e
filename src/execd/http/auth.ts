import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";

/**
 * Checks `Authorization: Bearer <token>`. Both sides are hashed first so the comparison is
 * constant-time regardless of the presented token's length.
 */
export function makeBearerCheck(token: string | undefined): (req: IncomingMessage) => boolean {
  if (!token) return () => true;
  const expected = createHash("sha256").update(token).digest();
  return (req) => {
    const header = req.headers.authorization ?? "";
    const match = /^Bearer\s+(.+)$/i.exec(header);
    if (!match?.[1]) return false;
    const presented = createHash("sha256").update(match[1].trim()).digest();
    return timingSafeEqual(expected, presented);
  };
}
