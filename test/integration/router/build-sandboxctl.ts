// sandboxctl as users run it: compiled with tsc -p tsconfig.build.json (as `npm run build`
// does) into a directory of the test's own, so test files running at once do not share one.
import { execFile } from "node:child_process";
import { rm, stat } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";

const ROOT = path.resolve(import.meta.dirname, "../../..");

/** A build directory inside the repository, so the build resolves node_modules as dist/ does. */
export function sandboxctlBuildDir(name: string): string {
  return path.join(ROOT, "node_modules/.cache", name);
}

/** Compiles src/ into `dir`; resolves to the path of sandboxctl's entry point. */
export async function buildSandboxctl(dir: string): Promise<string> {
  const bin = path.join(dir, "cli/main.js");
  await rm(dir, { recursive: true, force: true });
  // tsc emits even when some file elsewhere in src has a type error (npm run typecheck reports
  // those); only a build that produced no sandboxctl is a failure here.
  await promisify(execFile)(
    process.execPath,
    [path.join(ROOT, "node_modules/typescript/bin/tsc"), "-p", path.join(ROOT, "tsconfig.build.json"), "--outDir", dir],
    { cwd: ROOT },
  ).catch(async (err: { stdout?: string; message: string }) => {
    if (!(await stat(bin).catch(() => undefined))) throw new Error(`building sandboxctl failed: ${err.stdout ?? err.message}`);
  });
  return bin;
}
