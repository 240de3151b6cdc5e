#!/usr/bin/env node
// sandboxctl: command-line client of agent-sandbox-ts (router or Kubernetes mode).
import { CommanderError } from "commander";
import { SandboxError } from "../client/index.js";
import { ExitCode, exitCodeOf } from "./exit-codes.js";
import { buildProgram, type Io } from "./program.js";

const io: Io = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env, exitCode: ExitCode.Ok };

async function main(): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync(process.argv);
    return io.exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version are not errors; every parse error is a usage error (2).
      return err.code === "commander.helpDisplayed" || err.code === "commander.help" || err.code === "commander.version"
        ? ExitCode.Ok
        : ExitCode.Usage;
    }
    const message = err instanceof SandboxError || err instanceof Error ? err.message : String(err);
    process.stderr.write(`sandboxctl: ${message}\n`);
    return exitCodeOf(err);
  }
}

const code = await main();
// Let stdout drain (piped output) before exiting with the code.
process.stdout.write("", () => process.exit(code));
