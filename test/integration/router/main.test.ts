// The router's entry point as deployed: flags, start against the API server, health, signals.
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import readline from "node:readline";
import { afterAll, describe, expect, it } from "vitest";
import { clusterInfo } from "../harness/cluster.js";

const ROOT = path.resolve(import.meta.dirname, "../../..");
const children: ChildProcess[] = [];

function startMain(args: string[]): { child: ChildProcess; lines: string[]; exited: Promise<number | null> } {
  const child = spawn(process.execPath, ["--import", "tsx", path.join(ROOT, "src/router/main.ts"), ...args], {
    cwd: ROOT,
    env: { ...process.env, KUBECONFIG: clusterInfo().kubeconfig, LOG_LEVEL: "info" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  const lines: string[] = [];
  readline.createInterface({ input: child.stdout! }).on("line", (l) => lines.push(l));
  readline.createInterface({ input: child.stderr! }).on("line", (l) => lines.push(l));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { child, lines, exited };
}

afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
});

describe("sandbox-router main", () => {
  it("refuses bad flags with exit code 2 and a message naming the flag", async () => {
    const bad = startMain(["--max-ttl", "abc"]);
    expect(await bad.exited).toBe(2);
    expect(bad.lines.join("\n")).toContain("--max-ttl must be a whole number");
    const inverted = startMain(["--default-ttl", "7200", "--max-ttl", "3600"]);
    expect(await inverted.exited).toBe(2);
    expect(inverted.lines.join("\n")).toContain("exceeds --max-ttl");
  });

  it("starts, serves /healthz and /readyz, answers 401 without a token, and stops cleanly on SIGTERM", async () => {
    const r = startMain([
      "--listen",
      "127.0.0.1:0",
      "--health-address",
      "127.0.0.1:0",
      "--signing-key-file",
      path.join(ROOT, "package.json"),
    ]);
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`router did not start:\n${r.lines.join("\n")}`)), 60_000);
      const check = setInterval(() => {
        const line = r.lines.find((l) => l.includes("sandbox-router listening"));
        if (!line) return;
        clearInterval(check);
        clearTimeout(timer);
        resolve((JSON.parse(line) as { port: number }).port);
      }, 50);
    });
    let ready = 0;
    for (let i = 0; i < 200 && ready !== 200; i++) {
      ready = (await fetch(`http://127.0.0.1:${port}/readyz`)).status;
      if (ready !== 200) await new Promise((res) => setTimeout(res, 100));
    }
    expect(ready).toBe(200);
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    const unauth = await fetch(`http://127.0.0.1:${port}/v1/sandboxes`);
    expect(unauth.status).toBe(401);
    r.child.kill("SIGTERM");
    expect(await r.exited).toBe(0);
  });
});
