#!/usr/bin/env node
// sandbox-router: the authenticating reverse proxy in front of sandbox pods (same image as the
// operator, its own entry point). See src/router/README.md for the contract.
import { KubeConfig } from "@kubernetes/client-node";
import { CommanderError } from "commander";
import { createLogger, runMain } from "../runtime/index.js";
import { buildRouter } from "./build-router.js";
import { parseRouterFlags, type RouterFlags } from "./flags.js";

let flags: RouterFlags;
try {
  flags = parseRouterFlags(process.argv.slice(2));
} catch (err) {
  if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : 2);
  console.error(`sandbox-router: ${(err as Error).message}`);
  process.exit(2);
}
const logger = createLogger({ name: "sandbox-router" });
const kubeConfig = new KubeConfig();
kubeConfig.loadFromDefault();

const { manager, server } = buildRouter({
  kubeConfig,
  config: flags.config,
  logger,
  signingKey: flags.signingKey,
  execdSigningKey: flags.execdSigningKey,
  namespace: flags.namespace,
  healthServer: flags.healthAddress,
});
manager.onShutdown(
  () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
    }),
);
server.listen(flags.listen.port, flags.listen.host, () => {
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : flags.listen.port;
  logger.info({ host: flags.listen.host, port, config: flags.config }, "sandbox-router listening");
});
await runMain(manager, logger);
