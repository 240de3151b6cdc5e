import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { b64, startExecd, unb64, type ExecdProcess, type ExecuteAnswer } from "./harness.js";

let execd: ExecdProcess;

beforeAll(async () => {
  execd = await startExecd({ token: "state-token" });
});
afterAll(async () => {
  await execd?.stop();
});

const run = async (body: Record<string, unknown>): Promise<ExecuteAnswer> => {
  const { status, body: answer } = await execd.post<ExecuteAnswer>("/v1/execute", body);
  expect(status, JSON.stringify(answer)).toBe(200);
  return answer;
};

describe("stateful execution", () => {
  it("keeps a variable read from input.txt for the next call, which returns output.txt", async () => {
    const first = await run({
      code: "lines = open('input.txt').read().splitlines()\nprint(len(lines))",
      files: [{ name: "input.txt", content: b64("alpha\nbeta\ngamma\n") }],
      context: "default",
    });
    expect(first.exitCode).toBe(0);
    expect(first.stdout).toBe("3\n");
    // input.txt was supplied by the call, not produced by it.
    expect(first.outputFiles).toEqual([]);

    const second = await run({
      code: "with open('output.txt', 'w') as f:\n    f.write('\\n'.join(reversed(lines)))",
    });
    expect(second.exitCode).toBe(0);
    expect(second.context).toMatchObject({ id: "default", language: "python", stateLost: false });
    expect(second.outputFiles.map((f) => f.name)).toEqual(["output.txt"]);
    expect(second.outputFiles[0]!.size).toBe("gamma\nbeta\nalpha".length);
    expect(unb64(second.outputFiles[0]!.content)).toBe("gamma\nbeta\nalpha");
  });

  it("keeps Python imports and functions, and returns the last expression's repr", async () => {
    await run({ code: "import math\ndef area(r):\n    return math.pi * r * r" });
    const answer = await run({ code: "round(area(2), 3)" });
    expect(answer.results).toEqual([{ mimeType: "text/plain", data: "12.566" }]);
    const text = await run({ code: "{'a': [1, 2]}" });
    expect(text.results).toEqual([{ mimeType: "text/plain", data: "{'a': [1, 2]}" }]);
    const none = await run({ code: "x = 1" });
    expect(none.results).toEqual([]);
  });

  it("reports Python exceptions with name, message and a traceback starting at the cell", async () => {
    const answer = await run({ code: "def f():\n    raise ValueError('bad value')\nf()" });
    expect(answer.exitCode).toBe(1);
    expect(answer.error).toMatchObject({ name: "ValueError", message: "bad value" });
    expect(answer.error!.traceback).toContain('File "<cell>", line 3');
    expect(answer.error!.traceback).not.toContain("python_driver");
    expect(answer.stderr).toContain("ValueError: bad value");
    // The interpreter survived the exception.
    expect((await run({ code: "area(1) > 3" })).results[0]!.data).toBe("True");
  });

  it("keeps every line intact when threads print concurrently", async () => {
    const answer = await run({
      code: [
        "import sys, threading",
        "def spam(n):",
        "    for i in range(200):",
        // One write per line: print() itself issues two writes, which threads may interleave
        // with any stdout, so that is not something the server could promise.
        "        sys.stdout.write(f'thread-{n}-line-{i}\\n')",
        "threads = [threading.Thread(target=spam, args=(n,)) for n in range(4)]",
        "for t in threads: t.start()",
        "for t in threads: t.join()",
      ].join("\n"),
    });
    const lines = answer.stdout.trimEnd().split("\n");
    expect(lines).toHaveLength(800);
    expect(new Set(lines).size).toBe(800);
    expect(lines.every((line) => /^thread-\d-line-\d+$/.test(line))).toBe(true);
  });

  it("keeps JavaScript state (let, const, functions) and returns the completion value", async () => {
    await run({ language: "javascript", code: "const base = 40; let count = 1; function inc() { return ++count; }" });
    const answer = await run({ language: "javascript", code: "inc(); base + count" });
    expect(answer.context).toMatchObject({ id: "default-javascript", language: "javascript" });
    expect(answer.results).toEqual([{ mimeType: "text/plain", data: "42" }]);
    const awaited = await run({ language: "javascript", code: "Promise.resolve({ ok: base })" });
    expect(awaited.results).toEqual([{ mimeType: "text/plain", data: "{ ok: 40 }" }]);
    const logged = await run({ language: "javascript", code: "console.log('hello', count); console.error('warn')" });
    expect(logged.stdout).toBe("hello 2\n");
    expect(logged.stderr).toBe("warn\n");
    const failed = await run({ language: "javascript", code: "null.x" });
    expect(failed.exitCode).toBe(1);
    expect(failed.error?.name).toBe("TypeError");
    const fsAnswer = await run({
      language: "javascript",
      code: "require('node:fs').writeFileSync('from-js.txt', 'js'); 'written'",
    });
    expect(fsAnswer.outputFiles.map((f) => [f.name, unb64(f.content)])).toEqual([["from-js.txt", "js"]]);
  });

  it("keeps bash state: cwd, variables, functions and exports", async () => {
    await run({ language: "bash", code: 'mkdir -p deep/dir && cd deep/dir\nGREETING=hi\nshout() { echo "$1!"; }\nexport MODE=fast' });
    const answer = await run({
      language: "bash",
      code: 'pwd | sed "s#.*/deep#deep#"; echo "$GREETING"; shout yes; echo "$MODE" | tr a-z A-Z',
    });
    expect(answer.stdout).toBe("deep/dir\nhi\nyes!\nFAST\n");
    expect(answer.context.id).toBe("default-bash");
    const failing = await run({ language: "bash", code: "ls /definitely/not/here" });
    expect(failing.exitCode).toBe(2);
    expect(failing.stderr).toContain("No such file or directory");
    const piped = await run({ language: "bash", code: "printf 'b\\na\\n' | sort > sorted.txt; cat sorted.txt" });
    expect(piped.stdout).toBe("a\nb\n");
    expect(piped.outputFiles.map((f) => f.name)).toEqual(["deep/dir/sorted.txt"]);
  });

  it("returns all output child processes write straight to fds 1 and 2, in each stream's order", async () => {
    // More than a pipe holds at once, written as the call ends: the server must still be
    // reading it when the driver finishes the call.
    const answer = await run({
      code: [
        "import subprocess",
        "subprocess.run(['sh', '-c', 'i=0; while [ $i -lt 3000 ]; do echo out$i; echo err$i >&2; i=$((i+1)); done'])",
        "print('python after')",
      ].join("\n"),
    });
    const expected = (prefix: string): string => Array.from({ length: 3000 }, (_, i) => `${prefix}${i}\n`).join("");
    expect(answer.stdout).toBe(`${expected("out")}python after\n`);
    expect(answer.stderr).toBe(expected("err"));
    expect(answer.stdout).not.toContain("\u001e");
  });

  it("keeps its end-of-call marker out of a file the cell redirected fd 1 to", async () => {
    await execd.post("/v1/contexts", { language: "python", id: "redirected" });
    const answer = await run({
      context: "redirected",
      code: "import os\nfd = os.open('redirected.txt', os.O_WRONLY | os.O_CREAT | os.O_TRUNC)\nos.dup2(fd, 1)\nos.write(1, b'only this')",
    });
    expect(answer.exitCode).toBe(0);
    const next = await run({ context: "redirected", code: "os.write(1, b' and this')\nopen('redirected.txt', 'rb').read()" });
    expect(next.results).toEqual([{ mimeType: "text/plain", data: "b'only this and this'" }]);
    await execd.request("/v1/contexts/redirected", { method: "DELETE" });
  });

  it("writes nothing into a socket of the cell's that took the number of a descriptor the cell closed", async () => {
    await execd.post("/v1/contexts", { language: "python", id: "closer" });
    // Daemon-style code closes every descriptor above the channel (fd 3), the driver's own
    // duplicates of fds 1 and 2 included; the socket pair then reuses those numbers, with
    // data still unread in it as a pipe holding output would have.
    const first = await run({
      context: "closer",
      code: "import os, socket\nos.closerange(4, 256)\na, b = socket.socketpair()\na.send(b'x' * 10)\n(a.fileno(), b.fileno())",
    });
    expect(first.exitCode).toBe(0);
    const second = await run({ context: "closer", code: "b.setblocking(False)\nb.recv(100)" });
    expect(second.results).toEqual([{ mimeType: "text/plain", data: `b'${"x".repeat(10)}'` }]);
    await execd.request("/v1/contexts/closer", { method: "DELETE" });
  });

  it("passes env to the call and keeps the server's token out of user code", async () => {
    const answer = await run({
      code: "import os\nprint(os.environ['CALL_VAR'], os.environ.get('EXECD_TOKEN'), os.environ.get('EXECD_TOKEN_FILE'))",
      env: { CALL_VAR: "from-request" },
    });
    expect(answer.stdout).toBe("from-request None None\n");
  });

  it("returns a matplotlib figure as an image/png result", async () => {
    const answer = await run({
      code: "import matplotlib.pyplot as plt\nplt.plot([1, 4, 9])\nplt.title('squares')\nplt.show()",
    });
    expect(answer.exitCode).toBe(0);
    expect(answer.stderr).toBe("");
    const images = answer.results.filter((r) => r.mimeType === "image/png");
    expect(images).toHaveLength(1);
    const png = Buffer.from(images[0]!.data, "base64");
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    expect(png.length).toBeGreaterThan(1000);
    // Figures are closed after being sent, so the next call has none.
    expect((await run({ code: "len(plt.get_fignums())" })).results).toEqual([{ mimeType: "text/plain", data: "0" }]);
  });

  it("adds a pandas DataFrame's HTML table after its text/plain result", async () => {
    // pandas is Debian's python3-pandas (scripts/setup.sh): without it the import fails the call.
    const answer = await run({
      code: "import pandas as pd\npd.DataFrame({'city': ['Oslo', 'Lima'], 'temp': [4, 19]})",
    });
    expect(answer.exitCode, answer.stderr).toBe(0);
    expect(answer.results.map((r) => r.mimeType)).toEqual(["text/plain", "text/html"]);
    expect(answer.results[0]!.data).toContain("Oslo");
    expect(answer.results[1]!.data).toContain("<table");
    expect(answer.results[1]!.data).toContain("<td>Lima</td>");
  });

  it("keeps only text/plain when _repr_html_ raises or returns no string", async () => {
    await run({
      code: [
        "class Broken:",
        "    def __repr__(self): return 'Broken()'",
        "    def _repr_html_(self): raise RuntimeError('no html')",
        "class NotText:",
        "    def __repr__(self): return 'NotText()'",
        "    def _repr_html_(self): return 42",
      ].join("\n"),
    });
    const broken = await run({ code: "Broken()" });
    expect(broken.exitCode).toBe(0);
    expect(broken.error).toBeUndefined();
    expect(broken.stderr).toBe("");
    expect(broken.results).toEqual([{ mimeType: "text/plain", data: "Broken()" }]);
    const notText = await run({ code: "NotText()" });
    expect(notText.exitCode).toBe(0);
    expect(notText.results).toEqual([{ mimeType: "text/plain", data: "NotText()" }]);
  });

  it("asks instances for _repr_html_, not a class that defines it", async () => {
    await run({ code: "class Card:\n    def _repr_html_(self): return '<b>card</b>'" });
    const cls = await run({ code: "Card" });
    expect(cls.exitCode).toBe(0);
    expect(cls.results).toEqual([{ mimeType: "text/plain", data: "<class '__main__.Card'>" }]);
    const instance = await run({ code: "Card()" });
    expect(instance.results.map((r) => r.mimeType)).toEqual(["text/plain", "text/html"]);
    expect(instance.results[1]!.data).toBe("<b>card</b>");
  });

  it("lists created and changed files (nested too), not untouched ones", async () => {
    await run({ code: "open('keep.txt', 'w').write('same')" });
    const answer = await run({
      code: "import os\nos.makedirs('out/sub', exist_ok=True)\nopen('out/sub/a.csv', 'w').write('x,y')\nopen('keep.txt').read()",
    });
    expect(answer.outputFiles.map((f) => f.name)).toEqual(["out/sub/a.csv"]);
    const changed = await run({ code: "open('keep.txt', 'a').write('+more')" });
    expect(changed.outputFiles.map((f) => [f.name, unb64(f.content)])).toEqual([["keep.txt", "same+more"]]);
  });

  it("answers the Vertex-style /v1/executeCode with msg_out, msg_err and output_files", async () => {
    const { status, body } = await execd.post<{
      msg_out: string;
      msg_err: string;
      output_files: Array<{ name: string; content: string }>;
    }>("/v1/executeCode", {
      code: "import sys\ndata = open('in.csv').read()\nprint(data.upper())\nprint('note', file=sys.stderr)\nopen('out.csv', 'w').write(data[::-1])",
      files: [{ name: "in.csv", content: b64("a,b") }],
    });
    expect(status).toBe(200);
    expect(body).toEqual({
      msg_out: "A,B\n",
      msg_err: "note\n",
      output_files: [{ name: "out.csv", content: b64("b,a") }],
    });
  });
});
