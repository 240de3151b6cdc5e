// Long-lived JavaScript interpreter driven by sandbox-execd (same fd-3 protocol as
// python_driver.py). Each call runs as a script in one persistent vm context, so top-level
// `let`/`const`/functions survive between calls and the script's completion value is the
// call's result, like a REPL.
import net from "node:net";
import path from "node:path";
import readline from "node:readline";
import util from "node:util";
import vm from "node:vm";
import { createRequire } from "node:module";
import { Console } from "node:console";
import { Writable } from "node:stream";

const channel = new net.Socket({ fd: 3, readable: true, writable: true });
const send = (message) => channel.write(`${JSON.stringify(message)}\n`);

// console.* in a cell travels on fd 3 as ordered "stream" messages (stdout and stderr keep
// their relative order); process.stdout.write and child processes still use the pipes.
let currentId = 0;
const channelStream = (name) =>
  new Writable({
    write(chunk, _encoding, done) {
      send({ type: "stream", id: currentId, name, text: chunk.toString("utf8") });
      done();
    },
  });
const cellConsole = new Console({ stdout: channelStream("stdout"), stderr: channelStream("stderr") });

const sandbox = {
  console: cellConsole,
  process,
  Buffer,
  URL,
  URLSearchParams,
  TextEncoder,
  TextDecoder,
  AbortController,
  structuredClone,
  queueMicrotask,
  setTimeout,
  clearTimeout,
  setInterval,
  clearInterval,
  setImmediate,
  clearImmediate,
  fetch: globalThis.fetch,
  require: createRequire(path.join(process.cwd(), "index.js")),
};
sandbox.globalThis = sandbox;
const context = vm.createContext(sandbox);

// Idle SIGINTs (an interrupt that arrives just after a call ended) must not kill the
// interpreter; during a call vm's breakOnSigint turns SIGINT into an exception.
process.on("SIGINT", () => {});
// Errors thrown later by callbacks a cell scheduled are reported, not fatal.
process.on("uncaughtException", (error) => process.stderr.write(`Uncaught ${util.inspect(error)}\n`));
process.on("unhandledRejection", (error) => process.stderr.write(`Unhandled rejection ${util.inspect(error)}\n`));

function describe(error) {
  if (error instanceof Error || (error && typeof error === "object" && "stack" in error)) {
    // Frames from this driver and node's vm plumbing say nothing about the user's cell.
    const stack = String(error.stack ?? "")
      .split("\n")
      .filter((line) => !line.includes("js_driver.mjs") && !/\(node:(vm|internal)/.test(line))
      .join("\n");
    return { name: String(error.name), message: String(error.message), traceback: stack };
  }
  return { name: "Error", message: util.inspect(error), traceback: "" };
}

async function runCall(request) {
  Object.assign(process.env, request.env ?? {});
  try {
    const script = new vm.Script(request.code, { filename: "<cell>" });
    let value = script.runInContext(context, { breakOnSigint: true, displayErrors: false });
    if (value !== null && typeof value === "object" && typeof value.then === "function") {
      value = await value;
    }
    const results = value === undefined ? [] : [{ mimeType: "text/plain", data: util.inspect(value) }];
    return { exitCode: 0, error: null, results };
  } catch (error) {
    const described = describe(error);
    cellConsole.error(described.traceback || `${described.name}: ${described.message}`);
    return { exitCode: 1, error: described, results: [] };
  }
}

const writeAll = (stream, text) => new Promise((resolve) => (stream.write(text) ? resolve() : stream.once("drain", resolve)));

const lines = readline.createInterface({ input: channel });
let chain = Promise.resolve();
lines.on("line", (line) => {
  chain = chain.then(async () => {
    const request = JSON.parse(line);
    currentId = request.id;
    const outcome = await runCall(request);
    await writeAll(process.stdout, request.sentinel);
    await writeAll(process.stderr, request.sentinel);
    // Results and "done" leave in one write: one wake-up of the server instead of one each.
    const tail = outcome.results.map((result) => ({ type: "result", id: request.id, ...result }));
    tail.push({ type: "done", id: request.id, exitCode: outcome.exitCode, error: outcome.error });
    channel.write(tail.map((message) => `${JSON.stringify(message)}\n`).join(""));
  });
});
lines.on("close", () => process.exit(0));
send({ type: "ready", version: process.version });
