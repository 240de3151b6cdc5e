// Lifecycle of a Sandbox (upstream api/v1beta1 Lifecycle): absolute expiry plus what happens to
// the Sandbox object itself when it expires.
import { z } from "zod";

export const ShutdownPolicy = { Delete: "Delete", Retain: "Retain" } as const;
export type ShutdownPolicy = (typeof ShutdownPolicy)[keyof typeof ShutdownPolicy];

/** A shutdownTime for an epoch-ms deadline: RFC 3339 with whole seconds, rounded up so a TTL is never shortened. */
export const toShutdownTime = (ms: number): string => new Date(Math.ceil(ms / 1000) * 1000).toISOString().replace(/\.000Z$/, "Z");

export const lifecycleShape = {
  shutdownTime: z.iso
    .datetime({ offset: true })
    .describe(
      "shutdownTime is the absolute time at which the Sandbox expires. When the current time reaches " +
        "shutdownTime, the controller tears down the underlying resources (Pod and Service) and then applies " +
        "shutdownPolicy to the Sandbox object itself. If unset, the Sandbox never expires and lives until it " +
        "is explicitly deleted.",
    )
    .optional(),
  shutdownPolicy: z
    .enum([ShutdownPolicy.Delete, ShutdownPolicy.Retain])
    .describe(
      "shutdownPolicy determines what happens to the Sandbox object itself when it expires (i.e. when " +
        "shutdownTime is reached). The underlying resources (Pod, Service) are always deleted on expiry " +
        "regardless of this policy. Retain (default): the Sandbox object is kept, its live status fields are " +
        "cleared and Ready=False with reason SandboxExpired is set. Delete: the Sandbox object is deleted once " +
        "its underlying resources are removed. No effect while shutdownTime is unset.",
    )
    .default(ShutdownPolicy.Retain),
};

export const LifecycleSchema = z.object(lifecycleShape).describe("Lifecycle defines when and how the sandbox should be shut down.");
export type Lifecycle = z.infer<typeof LifecycleSchema>;
