#!/usr/bin/env node
// The operator process. It loads its cluster config with runtime/kubeconfig.ts instead of
// client-node's KubeConfig, whose import alone costs ~90 MB of RSS (all generated API classes).
import { collectDefaultMetrics, Registry } from "prom-client";
import { connect, createLogger, loadDefaultConfig, runMain, type ClusterConfig } from "../runtime/index.js";
import { buildOperator } from "./build-operator.js";
import { parseOperatorFlags } from "./flags.js";

const flags = parseOperatorFlags(process.argv.slice(2));
const logger = createLogger({ name: "agent-sandbox-operator" });
let clusterConfig: ClusterConfig;
try {
  clusterConfig = loadDefaultConfig({ kubeconfig: flags.kubeconfig, context: flags.context });
} catch (err) {
  logger.fatal({ err }, `Cannot load the cluster configuration: ${(err as Error).message}`);
  process.exit(1);
}
const connection = connect(clusterConfig);
// Process metrics (RSS, heap spaces, GC, event loop lag) next to the controllers' on /metrics.
const registry = new Registry();
collectDefaultMetrics({ register: registry });

const { manager } = buildOperator({
  kubeConfig: connection,
  registry,
  config: flags.config,
  envSigningKey: flags.envSigningKey,
  logger,
  ...(flags.namespace ? { namespace: flags.namespace } : {}),
  workers: flags.workers,
  healthServer: flags.healthAddress,
  ...(flags.leaderElect
    ? {
        leaderElection: {
          kc: connection,
          namespace: flags.leaderElectionNamespace,
          name: flags.leaderElectionId,
          ...flags.leaderElectionTimings,
        },
      }
    : {}),
});
if (flags.config.execdTrustedKeys.length === 0) {
  logger.warn("No --execd-token-key-file: the execution servers of new sandboxes will refuse every call, the router's included");
}
if (flags.envSigningKey && Object.keys(flags.config.operatorPodLabels).length === 0) {
  logger.warn(
    "--env-signing-key-file without --operator-labels: sandbox NetworkPolicies will not admit the operator, so env delivery fails",
  );
}
if (flags.envDeliveryOff) {
  logger.info(`Claims' env goes into pod specs (cold start): ${flags.envDeliveryOff}`);
}
logger.info(
  { config: flags.config, leaderElect: flags.leaderElect, cluster: clusterConfig.server, kubeconfig: clusterConfig.source },
  "Starting the agent-sandbox operator",
);
await runMain(manager, logger);
