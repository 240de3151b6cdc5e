#!/usr/bin/env node
// sandbox-execd: the in-pod execution server (stateful Python/JavaScript/bash contexts,
// files in and out, upstream agent-sandbox runtime endpoints), one per sandbox pod.
//
// As its container's PID 1, the server first hands that role to a reaping init (see
// pid1-init.ts), which starts node again. That check runs here, before the server's modules
// are loaded: under gVisor every module load is a round of file system calls, and loading
// everything twice made up much of a sandbox's start-up CPU.
import { execUnderInitIfPid1, shellFromArgs } from "./pid1-init.js";

const args = process.argv.slice(2);
const initProblem = execUnderInitIfPid1(shellFromArgs(args));
const { runExecd } = await import("./run.js");
runExecd(args, initProblem);
