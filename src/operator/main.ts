#!/usr/bin/env node
import { KubeConfig } from "@kubernetes/client-node";
import { createLogger, runMain } from "../runtime/index.js";
import { buildOperator } from "./build-operator.js";
import { parseOperatorFlags } from "./flags.js";

const flags = parseOperatorFlags(process.argv.slice(2));
const logger = createLogger({ name: "agent-sandbox-operator" });
const kubeConfig = new KubeConfig();
kubeConfig.loadFromDefault();

const { manager } = buildOperator({
  kubeConfig,
  config: flags.config,
  logger,
  ...(flags.namespace ? { namespace: flags.namespace } : {}),
  workers: flags.workers,
  healthServer: flags.healthAddress,
  ...(flags.leaderElect
    ? { leaderElection: { kc: kubeConfig, namespace: flags.leaderElectionNamespace, name: flags.leaderElectionId, ...flags.leaderElectionTimings } }
    : {}),
});
logger.info({ config: flags.config, leaderElect: flags.leaderElect }, "Starting the agent-sandbox operator");
await runMain(manager, logger);
