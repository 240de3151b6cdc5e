import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const LANGUAGES = ["python", "javascript", "bash"] as const;
export type Language = (typeof LANGUAGES)[number];

const DRIVER_FILES: Record<Language, string> = {
  python: "python_driver.py",
  javascript: "js_driver.mjs",
  bash: "bash_driver.sh",
};

const here = path.dirname(fileURLToPath(import.meta.url));

/**
 * Finds a driver script. Run from source (tsx) the drivers sit next to this module; after
 * `tsc` builds dist/ they are not copied (tsc only emits .ts), so the package's src/ copy is
 * used: dist/execd/kernels -> ../../../src/execd/kernels.
 */
export function driverPath(language: Language): string {
  const file = DRIVER_FILES[language];
  const candidates = [path.join(here, file), path.resolve(here, "../../../src/execd/kernels", file)];
  const found = candidates.find((candidate) => existsSync(candidate));
  if (!found) throw new Error(`driver ${file} not found (looked in ${candidates.join(", ")})`);
  return found;
}

export interface InterpreterPaths {
  python: string;
  node: string;
  bash: string;
}

/** The argv that starts the long-lived interpreter for a language. */
export function driverCommand(language: Language, interpreters: InterpreterPaths): { file: string; args: string[] } {
  const script = driverPath(language);
  switch (language) {
    case "python":
      // -u: unbuffered, so prints stream as they happen rather than at the end of the call.
      return { file: interpreters.python, args: ["-u", script] };
    case "javascript":
      return { file: interpreters.node, args: [script] };
    case "bash":
      return { file: interpreters.bash, args: ["--noprofile", "--norc", script] };
  }
}
