import { createHash, randomBytes } from "node:crypto";
import os from "node:os";
import { startExecd, TEST_PYTHON, type ExecdProcess } from "../../test/execd/harness.js";
import { findRunsc, runscWrap } from "../../test/execd/runsc.js";
import { latencyChart, type LatencySeries } from "../lib/chart.js";
import { toolVersion } from "../lib/machine.js";
import type { Scenario } from "../lib/scenario.js";
import { summarize } from "../lib/stats.js";

const WARMUP = 30;
const SAMPLES = Number(process.env.BENCH_EXEC_SAMPLES ?? 300);
const FILE_BYTES = 100 * 1024 * 1024;
const FILE_RUNS = Number(process.env.BENCH_FILE_RUNS ?? 3);
const MB = 1024 * 1024;

const sha = (data: Buffer): string => createHash("sha256").update(data).digest("hex");

interface Status {
  rssBytes: number;
  maxRssBytes: number;
}

async function status(execd: ExecdProcess): Promise<Status> {
  return (await (await execd.request("/v1/status")).json()) as Status;
}

/** Round trips of `1+1` on a warm context, as the client sees them (HTTP included). */
async function executeLatency(execd: ExecdProcess, language: "python" | "javascript", code: string, keep: (samples: number[]) => void) {
  const body = JSON.stringify({ code, language });
  const call = async (): Promise<number> => {
    const started = performance.now();
    const res = await execd.request("/v1/execute", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    });
    const answer = (await res.json()) as { results: Array<{ data: string }>; durationMs: number };
    const elapsed = performance.now() - started;
    if (answer.results[0]?.data !== "2") throw new Error(`unexpected answer ${JSON.stringify(answer)}`);
    execdMs.push(answer.durationMs);
    return elapsed;
  };
  const execdMs: number[] = [];
  for (let i = 0; i < WARMUP; i++) await call();
  execdMs.length = 0;
  const samples: number[] = [];
  for (let i = 0; i < SAMPLES; i++) samples.push(await call());
  keep(samples);
  const roundTrip = summarize(samples, "ms");
  const ownTime = summarize(execdMs, "ms");
  // execd's own time on the call (its durationMs: queue, workspace snapshots, interpreter)
  // and the rest (client, HTTP, network), at the median.
  return { ...roundTrip, phases: { execdCall: ownTime, outsideExecdP50Ms: Math.round((roundTrip.p50 - ownTime.p50) * 100) / 100 } };
}

/** A new context from nothing to its first answer: interpreter start + `1+1`. */
async function coldContext(execd: ExecdProcess, language: "python" | "javascript", runs: number) {
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const id = `cold-${language}-${i}`;
    const started = performance.now();
    const created = await execd.request("/v1/contexts", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ language, id }),
    });
    if (created.status !== 201) throw new Error(`context create failed: ${created.status}`);
    const res = await execd.request("/v1/execute", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ context: id, code: "1+1" }),
    });
    const answer = (await res.json()) as { results: Array<{ data: string }> };
    samples.push(performance.now() - started);
    if (answer.results[0]?.data !== "2") throw new Error(`unexpected answer ${JSON.stringify(answer)}`);
    await execd.request(`/v1/contexts/${id}`, { method: "DELETE" });
  }
  return summarize(samples, "ms");
}

/** 100 MB up and down as raw bytes (PUT/GET /v1/files) and as base64 JSON (/v1/execute). */
async function fileRoundTrip(execd: ExecdProcess) {
  const data = randomBytes(FILE_BYTES);
  const digest = sha(data);
  const before = await status(execd);

  let started = performance.now();
  const put = await execd.request("/v1/files/bench.bin", { method: "PUT", body: data });
  if (put.status !== 201 && put.status !== 200) throw new Error(`PUT failed: ${put.status}`);
  const putMs = performance.now() - started;
  started = performance.now();
  const got = Buffer.from(await (await execd.request("/v1/files/bench.bin")).arrayBuffer());
  const getMs = performance.now() - started;
  if (sha(got) !== digest) throw new Error("GET returned different bytes");
  const afterRaw = await status(execd);

  const payload = JSON.stringify({
    code: "import shutil\nshutil.copyfile('bench-in.bin', 'bench-out.bin')",
    files: [{ name: "bench-in.bin", content: data.toString("base64") }],
  });
  started = performance.now();
  const res = await execd.request("/v1/execute", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: payload,
  });
  const answer = (await res.json()) as { outputFiles: Array<{ name: string; content: string }> };
  const jsonMs = performance.now() - started;
  const out = answer.outputFiles.find((f) => f.name === "bench-out.bin");
  if (!out || sha(Buffer.from(out.content, "base64")) !== digest) throw new Error("JSON round trip lost bytes");
  const afterJson = await status(execd);
  for (const name of ["bench.bin", "bench-in.bin", "bench-out.bin"]) {
    await execd.request(`/v1/files/${name}`, { method: "DELETE" });
  }
  const rate = (ms: number): number => Math.round((FILE_BYTES / MB / (ms / 1000)) * 10) / 10;
  return {
    fileMiB: FILE_BYTES / MB,
    raw: {
      putMs: Math.round(putMs),
      getMs: Math.round(getMs),
      putMBps: rate(putMs),
      getMBps: rate(getMs),
      roundTripMBps: rate(putMs + getMs),
    },
    base64Json: {
      // One call carries the file in (base64 in the request) and the copy out (in the response).
      roundTripMs: Math.round(jsonMs),
      roundTripMBps: rate(jsonMs),
    },
    serverMemory: {
      rssBeforeMiB: Math.round(before.rssBytes / MB),
      peakRssAfterRawMiB: Math.round(afterRaw.maxRssBytes / MB),
      peakRssAfterJsonMiB: Math.round(afterJson.maxRssBytes / MB),
    },
  };
}

/** Raw warm-context round trips of every run, for the latency chart. */
const latencySeries: LatencySeries[] = [];

async function measure(label: string, execd: ExecdProcess, log: (m: string) => void) {
  log(`${label}: python 1+1 x${SAMPLES}`);
  const keep = (language: string) => (samples: number[]) => latencySeries.push({ label: `${language}, ${label}`, samples });
  const python = await executeLatency(execd, "python", "1+1", keep("python"));
  log(`${label}: python p50 ${python.p50} ms, p99 ${python.p99} ms (execd's own time p50 ${python.phases.execdCall.p50} ms)`);
  const javascript = await executeLatency(execd, "javascript", "1+1", keep("javascript"));
  log(`${label}: javascript p50 ${javascript.p50} ms, p99 ${javascript.p99} ms`);
  const coldPython = await coldContext(execd, "python", 20);
  const coldJavascript = await coldContext(execd, "javascript", 20);
  log(`${label}: new context to first answer p50 python ${coldPython.p50} ms, javascript ${coldJavascript.p50} ms`);
  log(`${label}: 100 MB round trips x${FILE_RUNS}`);
  // The machine is shared, so one 100 MB run says little; keep every run and the median.
  const runs: Array<Awaited<ReturnType<typeof fileRoundTrip>>> = [];
  for (let i = 0; i < FILE_RUNS; i++) runs.push(await fileRoundTrip(execd));
  const median = (pick: (run: (typeof runs)[number]) => number): number =>
    runs.map(pick).sort((a, b) => a - b)[Math.floor(runs.length / 2)]!;
  const files = {
    medianRawRoundTripMBps: median((r) => r.raw.roundTripMBps),
    medianBase64JsonRoundTripMBps: median((r) => r.base64Json.roundTripMBps),
    runs,
  };
  log(`${label}: median raw ${files.medianRawRoundTripMBps} MB/s, base64 JSON ${files.medianBase64JsonRoundTripMBps} MB/s`);
  return {
    executeRoundTrip: { python, javascript },
    newContextFirstAnswer: { python: coldPython, javascript: coldJavascript },
    file100MB: files,
  };
}

export const scenario: Scenario = {
  name: "exec-local",
  runLast: true,
  description: "sandbox-execd on this machine: 1+1 round trip on a warm context, 100 MB file round trip; native and under gVisor",
  async run(log, out) {
    const loadAtStart = os.loadavg().map((v) => Math.round(v * 100) / 100);
    const versions = {
      python: toolVersion(TEST_PYTHON, ["--version"]),
      node: process.version,
      runsc: null as string | null,
    };
    const native = await startExecd();
    let nativeFigures;
    try {
      nativeFigures = await measure("native", native, log);
    } finally {
      await native.stop();
    }
    const runsc = findRunsc();
    let gvisor: Record<string, unknown> = { skipped: "runsc not found" };
    if (runsc && process.getuid?.() === 0) {
      // Debian's build reports "VERSION_MISSING"; its package version says which release it is.
      versions.runsc = [toolVersion(runsc, ["--version"]), toolVersion("dpkg-query", ["-W", "runsc"])].filter(Boolean).join("; ");
      const { ip, wrap } = runscWrap(runsc);
      const sandboxed = await startExecd({ wrap, connectHost: ip });
      try {
        gvisor = { runsc, mode: "runsc --network=host do (host-side veth)", ...(await measure("gvisor", sandboxed, log)) };
      } finally {
        await sandboxed.stop();
      }
    } else if (runsc) {
      gvisor = { skipped: "runsc needs root" };
    }
    out.chart(
      latencyChart({
        name: "execute",
        title: "sandbox-execd: 1+1 round trip on a warm context",
        series: latencySeries.splice(0),
        logScale: true,
      }),
    );
    return {
      versions,
      method:
        "client: node fetch over loopback/veth, one request at a time; latency = POST /v1/execute until the JSON " +
        `answer is parsed, after ${WARMUP} warm-up calls on the same context; server started from source with tsx`,
      native: nativeFigures,
      gvisor,
      // The machine is shared: the load when the run began (machine.loadAverage is at its end).
      loadAverageAtStart: loadAtStart,
    };
  },
};
