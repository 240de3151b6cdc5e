// sandboxctl's commands. Everything talks through the SDK (router or Kubernetes mode).
import { readFile, writeFile, mkdir } from "node:fs/promises";
import path from "node:path";
import { Command, InvalidArgumentError, Option } from "commander";
import { KubeConfig } from "@kubernetes/client-node";
import {
  ExecutionError,
  SandboxClient,
  type Language,
  type RunResult,
  type SandboxInfo,
  type SandboxState,
  type WarmPoolInfo,
} from "../client/index.js";
import { EXIT_CODE_HELP, ExitCode, UsageError } from "./exit-codes.js";
import { render, since, until, type Column, type OutputFormat } from "./output.js";
import { withProgress } from "./progress.js";
import { parseRemote } from "./remote-path.js";
import { MCP_PATH, startMcpHttp } from "../mcp/http.js";
import { serveMcpStdio } from "../mcp/stdio.js";
import { parseHostPort, type HostPort } from "../shared/flags/host-port.js";
import { parseEnvFlag, parseSecretEnvFlag } from "../shared/sandbox/claim-env-flags.js";
import type { ClaimEnvVarInput } from "../api/index.js";

/** The version sandboxctl's MCP server reports to clients. */
const MCP_SERVER_VERSION = "0.1.0";

export interface Io {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WriteStream;
  env: NodeJS.ProcessEnv;
  /** Set by commands that end with a non-zero code without throwing (e.g. a failed command). */
  exitCode: number;
}

interface GlobalOpts {
  router?: string;
  token?: string;
  tokenFile?: string;
  kubeconfig?: string;
  namespace?: string;
  output: OutputFormat;
}

const sandboxColumns: Column<SandboxInfo>[] = [
  { header: "ID", value: (s) => s.id },
  { header: "STATE", value: (s) => s.state },
  { header: "WARM POOL", value: (s) => s.warmPool },
  { header: "TEMPLATE", value: (s) => s.template ?? "-" },
  { header: "AGE", value: (s) => since(s.createTime) },
  { header: "EXPIRES IN", value: (s) => until(s.expireTime) },
  { header: "DISPLAY NAME", value: (s) => s.displayName ?? "" },
];

const poolColumns: Column<WarmPoolInfo>[] = [
  { header: "NAME", value: (p) => p.name },
  { header: "TEMPLATE", value: (p) => p.template },
  { header: "REPLICAS", value: (p) => p.replicas },
  { header: "READY", value: (p) => p.readyReplicas },
];

function keyValue(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const eq = value.indexOf("=");
  if (eq <= 0) throw new InvalidArgumentError(`expected key=value, got "${value}"`);
  return { ...previous, [value.slice(0, eq)]: value.slice(eq + 1) };
}

/** A repeatable flag whose every use is parsed by `parse`; its errors become usage errors. */
function repeated<T>(parse: (text: string) => T) {
  return (value: string, previous: T[] = []): T[] => {
    try {
      return [...previous, parse(value)];
    } catch (err) {
      throw new InvalidArgumentError((err as Error).message);
    }
  };
}

function wholeNumber(name: string, min: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be a whole number >= ${min}, got "${value}"`);
    return n;
  };
}

async function readStream(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream as AsyncIterable<Buffer | string>) chunks.push(typeof c === "string" ? Buffer.from(c) : c);
  return Buffer.concat(chunks);
}

export function buildProgram(io: Io): Command {
  const program = new Command("sandboxctl")
    .description("Create, use and remove agent sandboxes, through the sandbox router or the Kubernetes API.")
    .addOption(new Option("--router <url>", "sandbox router URL (router mode)").env("SANDBOX_ROUTER_URL"))
    .addOption(new Option("--token <token>", "bearer token for the router: a Kubernetes token or a sandbox token").env("SANDBOX_TOKEN"))
    .addOption(new Option("--token-file <file>", "read the token from a file"))
    .addOption(new Option("--kubeconfig <file>", "kubeconfig for Kubernetes mode (default: $KUBECONFIG, ~/.kube/config, in-cluster)"))
    .addOption(new Option("-n, --namespace <ns>", "namespace (default: the router's \"default\" / the kubeconfig context's)"))
    .addOption(new Option("-o, --output <format>", "output format").choices(["table", "json", "yaml"]).default("table"))
    .showHelpAfterError()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .exitOverride()
    .addHelpText(
      "after",
      `
Modes:
  Router mode (--router URL --token T): all an agent needs is a URL and a token.
  Kubernetes mode (default): uses your kubeconfig; exec/cp reach pods directly, so they work
  in-cluster only (use the router from outside).

Examples:
  export SANDBOX_ROUTER_URL=http://sandbox-router.agent-sandbox-system:8080 SANDBOX_TOKEN=$(kubectl create token agent)
  sandboxctl create --warm-pool python-pool --ttl 3600          # waits for Ready, prints the sandbox
  ID=$(sandboxctl create --template python -q)                  # just the id, for scripts
  sandboxctl create --template python --env MODE=eval --secret-env OPENAI_API_KEY=openai/api-key
  sandboxctl exec $ID "import pandas as pd; print(pd.__version__)"
  sandboxctl exec $ID --file analysis.py --language python
  echo 'console.log(1 + 1)' | sandboxctl exec $ID --language javascript -
  sandboxctl exec $ID --shell "ls -la | head"
  sandboxctl cp data.csv $ID:input/data.csv && sandboxctl cp $ID:output.png ./output.png
  sandboxctl list --state running -l team=research -o json
  sandboxctl pools list && sandboxctl pools scale python-pool --replicas 5
  sandboxctl suspend $ID && sandboxctl resume $ID              # resume starts a new pod: state is lost
  sandboxctl delete $ID

${EXIT_CODE_HELP}
`,
    );

  const globals = (): GlobalOpts => program.opts<GlobalOpts>();
  let cached: SandboxClient | undefined;
  const client = async (): Promise<SandboxClient> => {
    if (cached) return cached;
    const g = globals();
    if (g.router) {
      const token = g.tokenFile ? (await readFile(g.tokenFile, "utf8")).trim() : g.token;
      if (!token) throw new UsageError("router mode needs a token: --token, --token-file or SANDBOX_TOKEN");
      cached = new SandboxClient({ routerUrl: g.router, token, namespace: g.namespace });
    } else {
      const kc = new KubeConfig();
      if (g.kubeconfig) kc.loadFromFile(g.kubeconfig);
      else kc.loadFromDefault();
      cached = new SandboxClient({ kubeConfig: kc, namespace: g.namespace });
    }
    return cached;
  };
  const print = (text: string): void => {
    io.stdout.write(text);
  };

  program
    .command("create")
    .description("claim a sandbox from a warm pool and wait until it is Ready")
    .addOption(new Option("--warm-pool <name>", "SandboxWarmPool to claim from"))
    .addOption(new Option("--template <name>", "SandboxTemplate (its warm pool is used)"))
    .addOption(new Option("--ttl <seconds>", "time to live; every exec through the router resets it").argParser(wholeNumber("--ttl", 10)))
    .addOption(new Option("--display-name <text>", "a human-readable name"))
    .addOption(new Option("-l, --label <key=value>", "label (repeatable)").argParser(keyValue))
    .addOption(new Option("--env <NAME=value>", "environment variable for every context (repeatable)").argParser(repeated(parseEnvFlag)))
    .addOption(
      new Option(
        "--secret-env <NAME=secret/key>",
        "environment variable taken from a key of a Secret in the sandbox's namespace (repeatable)",
      ).argParser(repeated(parseSecretEnvFlag)),
    )
    .addOption(new Option("--timeout <seconds>", "how long to wait for Ready").default(180).argParser(wholeNumber("--timeout", 1)))
    .option("-q, --quiet", "print only the sandbox id")
    .action(
      async (o: {
        warmPool?: string;
        template?: string;
        ttl?: number;
        displayName?: string;
        label?: Record<string, string>;
        env?: ClaimEnvVarInput[];
        secretEnv?: ClaimEnvVarInput[];
        timeout: number;
        quiet?: boolean;
      }) => {
        if (Boolean(o.warmPool) === Boolean(o.template)) throw new UsageError("give exactly one of --warm-pool or --template");
        const c = await client();
        const sb = await withProgress(
          `waiting for sandbox from ${o.warmPool ? `warm pool ${o.warmPool}` : `template ${o.template ?? ""}`} to be Ready`,
          c.createSandbox({
            ...(o.warmPool ? { warmPool: o.warmPool } : {}),
            ...(o.template ? { template: o.template } : {}),
            ...(o.ttl ? { ttlSeconds: o.ttl } : {}),
            ...(o.displayName ? { displayName: o.displayName } : {}),
            ...(o.label ? { labels: o.label } : {}),
            ...(o.env || o.secretEnv ? { env: [...(o.env ?? []), ...(o.secretEnv ?? [])] } : {}),
            timeoutMs: o.timeout * 1000,
          }),
          io.stderr,
        );
        if (o.quiet) return print(`${sb.id}\n`);
        const raw = { ...sb.info, ...(sb.accessToken ? { token: sb.accessToken } : {}) };
        print(render(globals().output, sb.info, sandboxColumns, raw));
      },
    );

  program
    .command("list")
    .description("list sandboxes")
    .addOption(
      new Option("--state <state>", "only this state").choices(["creating", "running", "suspended", "expired", "failed", "deleting"]),
    )
    .addOption(new Option("--template <name>", "only sandboxes from this template"))
    .addOption(new Option("-l, --label <key=value>", "label filter (repeatable)").argParser(keyValue))
    .addOption(new Option("--limit <n>", "page size").default(100).argParser(wholeNumber("--limit", 1)))
    .action(async (o: { state?: SandboxState; template?: string; label?: Record<string, string>; limit: number }) => {
      const c = await client();
      const all: SandboxInfo[] = [];
      let pageToken: string | undefined;
      do {
        const page = await c.listSandboxes({
          ...(o.state ? { state: o.state } : {}),
          ...(o.template ? { template: o.template } : {}),
          ...(o.label ? { labels: o.label } : {}),
          limit: o.limit,
          ...(pageToken ? { pageToken } : {}),
        });
        all.push(...page.sandboxes);
        pageToken = page.nextPageToken;
      } while (pageToken);
      if (globals().output === "table" && all.length === 0) return void io.stderr.write("No sandboxes found.\n");
      print(render(globals().output, all, sandboxColumns, { sandboxes: all }));
    });

  program
    .command("get")
    .description("show one sandbox")
    .argument("<id>", "sandbox id")
    .action(async (id: string) => {
      const sb = await (await client()).getSandbox(id);
      print(render(globals().output, sb.info, sandboxColumns, sb.info));
    });

  program
    .command("exec")
    .description("run code in a sandbox (state persists between execs in the same context); output streams as it is produced")
    .argument("<id>", "sandbox id")
    .argument("[code...]", "code to run; '-' (or nothing, with input piped) reads stdin")
    .addOption(new Option("-f, --file <file>", "run the code in this file"))
    .addOption(new Option("--language <lang>", "language of the code").choices(["python", "javascript", "bash"]).default("python"))
    .addOption(new Option("--context <name>", 'execution context (default "default"; a new name starts a fresh interpreter)'))
    .addOption(new Option("--shell", "run a shell command line instead (pipes, redirects), without state"))
    .addOption(new Option("--timeout <seconds>", "stop the code after this long").argParser(wholeNumber("--timeout", 1)))
    .addOption(new Option("--download-to <dir>", "save the files the code created or changed into this directory"))
    .action(
      async (
        id: string,
        codeParts: string[],
        o: { file?: string; language: Language; context?: string; shell?: boolean; timeout?: number; downloadTo?: string },
      ) => {
        const code = await codeFrom(io, codeParts, o.file);
        const sb = (await client()).connect(id);
        const structured = globals().output !== "table";
        if (o.shell) {
          const r = await sb.commands.run(code, o.timeout ? { timeoutMs: o.timeout * 1000 } : {});
          if (structured) print(render(globals().output, r, [], r));
          else {
            io.stdout.write(r.stdout);
            io.stderr.write(r.stderr);
          }
          if (r.exitCode !== 0) {
            if (!structured) io.stderr.write(`command exited with ${r.exitCode}\n`);
            io.exitCode = ExitCode.ExecutionFailed;
          }
          return;
        }
        let result: RunResult;
        try {
          result = await sb.run(code, {
            language: o.language,
            ...(o.context ? { context: o.context } : {}),
            ...(o.timeout ? { timeoutMs: o.timeout * 1000 } : {}),
            ...(structured ? {} : { onStdout: (t: string) => void io.stdout.write(t), onStderr: (t: string) => void io.stderr.write(t) }),
          });
        } catch (err) {
          if (!(err instanceof ExecutionError)) throw err;
          result = err.result;
          if (structured) print(render(globals().output, result, [], serializable(result)));
          else io.stderr.write(err.traceback ? `${err.traceback.trimEnd()}\n` : `${err.message}\n`);
          await saveFiles(result, o.downloadTo, io);
          io.exitCode = ExitCode.ExecutionFailed;
          return;
        }
        if (structured) print(render(globals().output, result, [], serializable(result)));
        else {
          for (const r of result.results) {
            if (r.mimeType === "text/plain") io.stdout.write(`${r.data}\n`);
            else io.stderr.write(`[${r.mimeType} result, ${r.data.length} base64 chars; use -o json to get it]\n`);
          }
          for (const w of result.warnings) io.stderr.write(`warning: ${w}\n`);
        }
        await saveFiles(result, o.downloadTo, io);
      },
    );

  program
    .command("cp")
    .description("copy a file into or out of a sandbox (<id>:<path> names a path in the sandbox; '-' is stdin/stdout)")
    .argument("<source>", "local file, '-', or <id>:<path>")
    .argument("<destination>", "local file, '-', or <id>:<path>")
    .action(async (source: string, destination: string) => {
      const from = parseRemote(source);
      const to = parseRemote(destination);
      if (Boolean(from) === Boolean(to)) throw new UsageError("exactly one of source and destination must be <id>:<path>");
      const c = await client();
      if (to) {
        const data =
          source === "-"
            ? await readStream(io.stdin)
            : await readFile(source).catch((err: NodeJS.ErrnoException) => {
                throw new UsageError(`cannot read ${source}: ${err.code ?? err.message}`);
              });
        const written = await c.connect(to.id).files.write(to.path, data);
        if (globals().output !== "table") print(render(globals().output, written, [], written));
        return;
      }
      if (!from) return;
      const data = await c.connect(from.id).files.read(from.path);
      if (destination === "-") io.stdout.write(data);
      else {
        await mkdir(path.dirname(path.resolve(destination)), { recursive: true });
        await writeFile(destination, data);
      }
    });

  program
    .command("delete")
    .description("delete sandboxes")
    .argument("<id...>", "sandbox ids")
    .action(async (ids: string[]) => {
      const c = await client();
      for (const id of ids) {
        await c.deleteSandbox(id);
        if (globals().output === "table") print(`sandbox ${id} deleted\n`);
      }
      if (globals().output !== "table") print(render(globals().output, ids, [], { deleted: ids }));
    });

  /** suspend and resume: the shape of delete, printing each sandbox's new state in json/yaml. */
  const operatingModeCommand = (
    name: string,
    description: string,
    done: string,
    change: (c: SandboxClient, id: string) => Promise<SandboxInfo>,
  ): void => {
    program
      .command(name)
      .description(description)
      .argument("<id...>", "sandbox ids")
      .action(async (ids: string[]) => {
        const c = await client();
        const changed: SandboxInfo[] = [];
        for (const id of ids) {
          changed.push(await change(c, id));
          if (globals().output === "table") print(`sandbox ${id} ${done}\n`);
        }
        if (globals().output !== "table") print(render(globals().output, changed, [], { sandboxes: changed }));
      });
  };
  operatingModeCommand(
    "suspend",
    "suspend sandboxes: their pods are deleted; each sandbox stays until it is resumed or deleted",
    "suspended",
    (c, id) => c.suspendSandbox(id),
  );
  operatingModeCommand(
    "resume",
    "resume suspended sandboxes in new pods (interpreter state and an emptyDir workspace are lost)",
    "resumed",
    (c, id) => c.resumeSandbox(id),
  );

  program
    .command("mcp")
    .description("serve the sandbox tools to MCP clients (agents): on stdin/stdout, or over streamable HTTP with --http")
    .addOption(
      new Option(
        "--http <host:port>",
        "serve streamable HTTP at http://host:port/mcp instead of stdio; each request's bearer token is passed to the router",
      ).argParser((value) => parseHostPort(value)),
    )
    .action(async (o: { http?: HostPort }) => {
      if (o.http !== undefined) {
        const g = globals();
        if (!g.router)
          throw new UsageError("--http needs router mode (--router or SANDBOX_ROUTER_URL): each MCP client then calls as its own identity");
        const { host, port } = o.http;
        const { address } = await startMcpHttp({ host, port, routerUrl: g.router, namespace: g.namespace, version: MCP_SERVER_VERSION });
        io.stderr.write(`sandboxctl: MCP over streamable HTTP at http://${address.address}:${address.port}${MCP_PATH}\n`);
        await new Promise<never>(() => undefined);
      }
      await serveMcpStdio(await client(), MCP_SERVER_VERSION);
    });

  const pools = program.command("pools").description("warm pools: list and scale");
  pools
    .command("list")
    .description("list warm pools")
    .action(async () => {
      const list = await (await client()).listWarmPools();
      print(render(globals().output, list, poolColumns, { warmPools: list }));
    });
  pools
    .command("scale")
    .description("set a warm pool's replicas")
    .argument("<name>", "SandboxWarmPool name")
    .requiredOption("--replicas <n>", "desired ready sandboxes", wholeNumber("--replicas", 0))
    .action(async (name: string, o: { replicas: number }) => {
      await (await client()).scaleWarmPool(name, o.replicas);
      if (globals().output === "table") print(`warm pool ${name} scaled to ${o.replicas}\n`);
      else print(render(globals().output, { name, replicas: o.replicas }, [], { name, replicas: o.replicas }));
    });

  for (const cmd of program.commands)
    cmd.configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) }).exitOverride();
  for (const cmd of pools.commands)
    cmd.configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) }).exitOverride();
  return program;
}

async function codeFrom(io: Io, parts: string[], file: string | undefined): Promise<string> {
  const inline = parts.join(" ");
  if (file && inline) throw new UsageError("give the code either as an argument or with --file, not both");
  if (file) {
    return readFile(file, "utf8").catch((err: NodeJS.ErrnoException) => {
      throw new UsageError(`cannot read ${file}: ${err.code ?? err.message}`);
    });
  }
  if (inline === "-" || (!inline && !io.stdin.isTTY)) return (await readStream(io.stdin)).toString("utf8");
  if (!inline) throw new UsageError("no code: pass it as an argument, with --file, or on stdin ('-')");
  return inline;
}

function serializable(r: RunResult): unknown {
  return { ...r, outputFiles: r.outputFiles.map((f) => ({ name: f.name, size: f.size, content: f.content.toString("base64") })) };
}

async function saveFiles(r: RunResult, dir: string | undefined, io: Io): Promise<void> {
  if (!dir) return;
  for (const f of r.outputFiles) {
    const target = path.resolve(dir, f.name);
    if (!target.startsWith(path.resolve(dir) + path.sep)) {
      io.stderr.write(`warning: skipped ${f.name}: it would be written outside ${dir}\n`);
      continue;
    }
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(target, f.content);
  }
}
