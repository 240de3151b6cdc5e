// Decides once whether the chart tests can run. Without helm they are skipped with a printed
// reason on a developer machine, but fail under CI=true: CI must build helm
// (bash scripts/lib/build-cluster-tools.sh helm) so these checks never silently disappear.
import { findHelm } from "./helm.js";

const found = findHelm();

export const helmPath: string = "path" in found ? found.path : "";
export const helmMissing: string | undefined = "missing" in found ? found.missing : undefined;

if (helmMissing) {
  const msg = `chart tests need helm: ${helmMissing}`;
  if (process.env["CI"]) throw new Error(msg);
  console.warn(`[test/unit/chart] SKIPPED: ${msg}`);
}
