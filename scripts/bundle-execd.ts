// Bundles the execution server into one ES module with its interpreter drivers beside it:
// `tsx scripts/bundle-execd.ts [outDir]` (default dist/execd-bundle), run by `npm run build`.
//
// Every sandbox pod starts this server. Under gVisor each file the module loader opens or
// stats is a round trip to the sandbox's file server, and the unbundled server loads several
// hundred modules (some 2,000 opens and stats), so one file starts it at a fraction of the
// CPU. esbuild is the bundler because it is a single well-kept binary that needs no config.
import { execFile } from "node:child_process";
import { chmod, copyFile, mkdir, rename, writeFile } from "node:fs/promises";
import { promisify } from "node:util";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { INIT_ENV, INIT_SCRIPT } from "../src/execd/pid1-init.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** The bundle's file name inside the output directory. */
export const EXECD_BUNDLE_FILE = "sandbox-execd.mjs";

/** The launcher the images put on PATH (as a link, so it finds the bundle beside itself). */
export const EXECD_LAUNCHER_FILE = "sandbox-execd";

/** The reaping init, as a script file the launcher runs. */
const INIT_FILE = "execd-init.sh";

/**
 * As its container's PID 1, the launcher starts the reaping init itself rather than leaving
 * the hand-over to the server: Node.js then starts once, not twice (about 0.3 CPU-seconds of a
 * sandbox's start under gVisor). Without bash it runs the server, which then does without.
 */
const launcher = `#!/bin/sh
here=$(dirname "$(readlink -f "$0")")
if [ "$$" = 1 ] && [ -z "\${${INIT_ENV}:-}" ] && command -v bash >/dev/null 2>&1; then
  export ${INIT_ENV}=1
  exec bash "$here/${INIT_FILE}" node "$here/${EXECD_BUNDLE_FILE}" "$@"
fi
exec node "$here/${EXECD_BUNDLE_FILE}" "$@"
`;

/** Driver scripts the server starts its interpreters with; it looks for them beside itself. */
const DRIVERS = ["python_driver.py", "js_driver.mjs", "bash_driver.sh"];

/** The fork limiter preloaded into the interpreters (src/execd/kernels/task_limit.c). */
export const TASK_LIMIT_LIBRARY = "task_limit.so";

/**
 * Compiles the fork limiter into `outFile` with the system's C compiler (gcc from Debian,
 * which set-up installs). Written beside and renamed, so a reader never sees half a file.
 */
export async function compileTaskLimit(outFile: string): Promise<void> {
  await mkdir(path.dirname(outFile), { recursive: true });
  const partial = `${outFile}.${process.pid}.tmp`;
  const source = path.join(ROOT, "src/execd/kernels/task_limit.c");
  try {
    await promisify(execFile)("cc", ["-O2", "-Wall", "-Werror", "-shared", "-fPIC", "-o", partial, source, "-ldl"]);
  } catch (error) {
    throw new Error(`compiling ${source} failed (is a C compiler installed? scripts/setup.sh installs gcc): ${(error as Error).message}`, {
      cause: error,
    });
  }
  await rename(partial, outFile);
}

/** Writes the bundle, its launcher, the init, the drivers and the fork limiter into `outDir`; returns the bundle's path. */
export async function bundleExecd(outDir: string): Promise<string> {
  await mkdir(outDir, { recursive: true });
  const outfile = path.join(outDir, EXECD_BUNDLE_FILE);
  await build({
    entryPoints: [path.join(ROOT, "src/execd/main.ts")],
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node22",
    sourcemap: "linked",
    logLevel: "warning",
    // CommonJS dependencies (commander, pino) call require() for node's built-in modules,
    // which an ES module does not have.
    banner: {
      js: 'import { createRequire as createRequireForBundle } from "node:module"; const require = createRequireForBundle(import.meta.url);',
    },
  });
  await Promise.all(DRIVERS.map((file) => copyFile(path.join(ROOT, "src/execd/kernels", file), path.join(outDir, file))));
  await compileTaskLimit(path.join(outDir, TASK_LIMIT_LIBRARY));
  await writeFile(path.join(outDir, INIT_FILE), `${INIT_SCRIPT}\n`);
  await writeFile(path.join(outDir, EXECD_LAUNCHER_FILE), launcher);
  await chmod(path.join(outDir, EXECD_LAUNCHER_FILE), 0o755);
  return outfile;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const outDir = path.resolve(process.argv[2] ?? path.join(ROOT, "dist/execd-bundle"));
  console.log(`[bundle-execd] wrote ${await bundleExecd(outDir)}`);
}
