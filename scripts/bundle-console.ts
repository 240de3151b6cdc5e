// Bundles the web console into static files the router serves at /ui/:
// `tsx scripts/bundle-console.ts [outDir]` (default dist/console), run by `npm run build`.
// The page loads nothing from anywhere but the router, so its editor (CodeMirror) and HTML
// sanitizer (DOMPurify) are bundled in from npm rather than fetched from a CDN.
import { copyFile, mkdir } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const SOURCE = path.join(ROOT, "src/console");

/** Builds the console into `outDir`. */
export async function bundleConsole(outDir: string): Promise<void> {
  await mkdir(outDir, { recursive: true });
  await build({
    entryPoints: [path.join(SOURCE, "main.ts")],
    outfile: path.join(outDir, "console.js"),
    bundle: true,
    format: "esm",
    platform: "browser",
    target: ["chrome111", "firefox115", "safari16.4"],
    minify: true,
    legalComments: "linked",
    logLevel: "warning",
  });
  for (const file of ["index.html", "console.css", "result-frame.css"]) await copyFile(path.join(SOURCE, file), path.join(outDir, file));
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await bundleConsole(path.resolve(process.argv[2] ?? path.join(ROOT, "dist/console")));
}
