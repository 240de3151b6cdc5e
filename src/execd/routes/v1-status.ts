import { sendJson } from "../http/errors.js";
import type { RouteCall, RouteDeps } from "./context.js";

const startedAt = new Date();

/** GET /v1/status: the server's own health figures (memory, contexts), for operators and benchmarks. */
export async function statusRoute(deps: RouteDeps, { res }: RouteCall): Promise<void> {
  const memory = process.memoryUsage();
  sendJson(res, 200, {
    startedAt: startedAt.toISOString(),
    uptimeSeconds: Math.round(process.uptime()),
    node: process.version,
    rssBytes: memory.rss,
    // Peak resident set size of this process (kernel's ru_maxrss), in bytes.
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
    heapUsedBytes: memory.heapUsed,
    externalBytes: memory.external + memory.arrayBuffers,
    maxBytes: deps.maxBytes,
    contexts: deps.contexts.list().length,
  });
}
