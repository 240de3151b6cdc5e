import { Counter, Gauge, Histogram, type Registry } from "prom-client";

export interface RouterMetrics {
  requests: Counter<"handler" | "code">;
  requestSeconds: Histogram<"handler">;
  inflight: Gauge<"handler">;
  upstreamErrors: Counter<"reason">;
  authentications: Counter<"method" | "result">;
  authorizations: Counter<"result">;
  authCacheHits: Counter<"cache">;
  ttlExtensions: Counter;
  ttlWrites: Counter<"result">;
  activityWrites: Counter<"result">;
  wakes: Counter<"result">;
  resumes: Counter;
  claimReadySeconds: Histogram;
}

/** The router's Prometheus metrics (prefix sandbox_router_), registered on `registry`. */
export function createRouterMetrics(registry: Registry): RouterMetrics {
  const registers = [registry];
  return {
    requests: new Counter({
      name: "sandbox_router_requests_total",
      help: "Requests answered, by handler (proxy, management, health, console) and status code.",
      labelNames: ["handler", "code"],
      registers,
    }),
    requestSeconds: new Histogram({
      name: "sandbox_router_request_duration_seconds",
      help: "Time until the response head was sent, by handler (streams continue after it).",
      labelNames: ["handler"],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    }),
    inflight: new Gauge({
      name: "sandbox_router_inflight_requests",
      help: "Requests (and streams) in progress.",
      labelNames: ["handler"],
      registers,
    }),
    upstreamErrors: new Counter({
      name: "sandbox_router_upstream_errors_total",
      help: "Proxied requests that failed to reach or complete with the sandbox.",
      labelNames: ["reason"],
      registers,
    }),
    authentications: new Counter({
      name: "sandbox_router_authentications_total",
      help: "Token checks by method (tokenreview, scoped) and result.",
      labelNames: ["method", "result"],
      registers,
    }),
    authorizations: new Counter({
      name: "sandbox_router_subject_access_reviews_total",
      help: "SubjectAccessReviews sent, by result.",
      labelNames: ["result"],
      registers,
    }),
    authCacheHits: new Counter({
      name: "sandbox_router_auth_cache_hits_total",
      help: "TokenReview/SubjectAccessReview answers reused from the cache.",
      labelNames: ["cache"],
      registers,
    }),
    ttlExtensions: new Counter({
      name: "sandbox_router_ttl_extensions_total",
      help: "Executes that reset a sandbox's TTL (before coalescing).",
      registers,
    }),
    ttlWrites: new Counter({
      name: "sandbox_router_ttl_writes_total",
      help: "lifecycle.shutdownTime writes after coalescing, by result.",
      labelNames: ["result"],
      registers,
    }),
    activityWrites: new Counter({
      name: "sandbox_router_activity_writes_total",
      help: "Last-activity writes on sandboxes with an idle timeout, after coalescing, by result.",
      labelNames: ["result"],
      registers,
    }),
    wakes: new Counter({
      name: "sandbox_router_wakes_total",
      help: "Suspended sandboxes resumed by a call, by result (ready, timeout, error).",
      labelNames: ["result"],
      registers,
    }),
    resumes: new Counter({
      name: "sandbox_router_resumes_total",
      help: "Resume writes for calls to suspended sandboxes (calls that arrive during a wake share one).",
      registers,
    }),
    claimReadySeconds: new Histogram({
      name: "sandbox_router_create_ready_seconds",
      help: "POST /v1/sandboxes: time from the claim's creation to Ready.",
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300],
      registers,
    }),
  };
}
