import path from "node:path";
import { compileTaskLimit, TASK_LIMIT_LIBRARY } from "../../scripts/bundle-execd.js";
import { ROOT } from "./harness.js";

/**
 * The server run from source looks for the fork limiter in dist/execd-bundle, where
 * `npm run build` puts it; compiled here too, so this tier does not depend on a build.
 */
export default async function setup(): Promise<void> {
  await compileTaskLimit(path.join(ROOT, "dist/execd-bundle", TASK_LIMIT_LIBRARY));
}
