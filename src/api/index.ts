// The agent-sandbox API (agents.x-k8s.io / extensions.agents.x-k8s.io, v1beta1) as zod schemas:
// the single source for TypeScript types, client-side validation and the generated CRDs.
export * from "./groups.js";
export * from "./labels.js";
export * from "./events.js";
export * from "./core-primitives.js";
export * from "./object-meta.js";
export * from "./condition.js";
export * from "./reasons.js";
export * from "./lifecycle.js";
export * from "./idle-timeout.js";
export * from "./blueprint.js";
export * from "./sandbox.js";
export * from "./sandbox-template.js";
export * from "./sandbox-claim.js";
export * from "./sandbox-warm-pool.js";
export * from "./generated/core-v1.js";
export * from "./validation.js";
