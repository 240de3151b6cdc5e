// A claim's env as the operator delivers it (PUT /v1/env with its own env-scoped token, sent by
// the operator's real delivery code): every context sees it, the pre-warmed interpreters that
// were already running included, and contexts created afterwards; the router's tokens cannot
// set it, the operator's token opens nothing else, and no value reaches the server's logs.
import { generateKeyPairSync } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HttpEnvDelivery } from "../../src/controllers/sandbox-claim/env-delivery.js";
import { ENV_TOKEN_SCOPE, encodePublicKey, ExecdTokenSigner, formatSandboxIdentity } from "../../src/execd-token/index.js";
import { startExecd, type ExecdProcess, type ExecuteAnswer } from "./harness.js";

const router = generateKeyPairSync("ed25519");
const operator = generateKeyPairSync("ed25519");
const mine = { namespace: "team", name: "mine", uid: "11111111-1111-4111-8111-111111111111" };
const SECRET = "s3cret-8d1f6c0e-value";
const LITERAL = 'it\'s a "quoted" $value with spaces';
let execd: ExecdProcess;
let routerToken: string;

beforeAll(async () => {
  execd = await startExecd({
    args: [
      "--sandbox",
      formatSandboxIdentity(mine),
      "--trusted-key",
      encodePublicKey(router.publicKey),
      "--env-trusted-key",
      encodePublicKey(operator.publicKey),
      "--prewarm",
      "python,javascript,bash",
    ],
    env: { LOG_LEVEL: "debug" },
  });
  routerToken = (await new ExecdTokenSigner(router.privateKey).sign(mine)).token;
}, 60_000);
afterAll(async () => {
  await execd?.stop();
});

async function run(language: string, code: string, context?: string): Promise<string> {
  const res = await fetch(`${execd.url}/v1/execute`, {
    method: "POST",
    headers: { authorization: `Bearer ${routerToken}`, "content-type": "application/json" },
    body: JSON.stringify({ language, code, ...(context ? { context } : {}) }),
  });
  const answer = (await res.json()) as ExecuteAnswer;
  expect(res.status, JSON.stringify(answer)).toBe(200);
  return answer.stdout.trim();
}

const readers = {
  python: "import os\nprint(os.environ.get('API_KEY', '<unset>') + '|' + os.environ.get('GREETING', '<unset>'))",
  javascript: "console.log((process.env.API_KEY ?? '<unset>') + '|' + (process.env.GREETING ?? '<unset>'))",
  bash: 'echo "${API_KEY:-<unset>}|${GREETING:-<unset>}"',
} as const;

function putEnv(token: string | undefined, body: unknown): Promise<Response> {
  return fetch(`${execd.url}/v1/env`, {
    method: "PUT",
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

describe("the environment endpoint", () => {
  it("refuses the router's token, no token and another key's env token, and the operator's token elsewhere", async () => {
    expect((await putEnv(routerToken, { env: { API_KEY: "x" } })).status).toBe(401);
    expect((await putEnv(undefined, { env: { API_KEY: "x" } })).status).toBe(401);
    const stranger = await new ExecdTokenSigner(generateKeyPairSync("ed25519").privateKey, { scope: ENV_TOKEN_SCOPE }).sign(mine);
    expect((await putEnv(stranger.token, { env: { API_KEY: "x" } })).status).toBe(401);
    const otherSandbox = await new ExecdTokenSigner(operator.privateKey, { scope: ENV_TOKEN_SCOPE }).sign({ ...mine, uid: "other" });
    expect((await putEnv(otherSandbox.token, { env: { API_KEY: "x" } })).status).toBe(401);
    const envToken = (await new ExecdTokenSigner(operator.privateKey, { scope: ENV_TOKEN_SCOPE }).sign(mine)).token;
    const contexts = await fetch(`${execd.url}/v1/contexts`, { headers: { authorization: `Bearer ${envToken}` } });
    expect(contexts.status).toBe(401);
    // Nothing was set by any of these.
    expect(await run("python", readers.python)).toBe("<unset>|<unset>");
  });

  it("refuses a bad name or value type, naming the field but not repeating any value", async () => {
    const envToken = (await new ExecdTokenSigner(operator.privateKey, { scope: ENV_TOKEN_SCOPE }).sign(mine)).token;
    const bad = await putEnv(envToken, { env: { "1BAD": SECRET } });
    expect(bad.status).toBe(400);
    const text = await bad.text();
    expect(text).toContain("1BAD");
    expect(text).not.toContain(SECRET);
    expect((await putEnv(envToken, { env: { OK: 5 } })).status).toBe(400);
    expect((await putEnv(envToken, { env: { EXECD_TOKEN: "x" } })).status).toBe(400);
  });

  it("sets the variables in running interpreters (pre-warmed and user-created) and in contexts created later", async () => {
    // Interpreters running before the delivery: the three pre-warmed defaults and one of ours.
    for (const [language, code] of Object.entries(readers)) expect(await run(language, code), language).toBe("<unset>|<unset>");
    const created = await fetch(`${execd.url}/v1/contexts`, {
      method: "POST",
      headers: { authorization: `Bearer ${routerToken}`, "content-type": "application/json" },
      body: JSON.stringify({ language: "python", id: "before" }),
    });
    expect(created.status).toBe(201);
    expect(await run("python", "state = 42\nprint(state)", "before")).toBe("42");

    await new HttpEnvDelivery(operator.privateKey).deliver(
      { sandbox: mine, podIP: "127.0.0.1", port: Number(new URL(execd.url).port) },
      { API_KEY: SECRET, GREETING: LITERAL },
    );

    const expected = `${SECRET}|${LITERAL}`;
    for (const [language, code] of Object.entries(readers)) expect(await run(language, code), language).toBe(expected);
    // The running interpreter kept its state: it was not restarted to get the variables.
    expect(await run("python", "print(state)\n" + readers.python, "before")).toBe(`42\n${expected}`);
    for (const language of ["python", "javascript", "bash"] as const) {
      const id = `after-${language}`;
      const res = await fetch(`${execd.url}/v1/contexts`, {
        method: "POST",
        headers: { authorization: `Bearer ${routerToken}`, "content-type": "application/json" },
        body: JSON.stringify({ language, id }),
      });
      expect(res.status).toBe(201);
      expect(await run(language, readers[language], id), id).toBe(expected);
    }
    // Child processes of an interpreter and the upstream /execute route see them too.
    expect(
      await run(
        "python",
        "import subprocess\nprint(subprocess.run(['sh','-c','echo $API_KEY'],capture_output=True,text=True).stdout.strip())",
      ),
    ).toBe(SECRET);
    const upstream = await fetch(`${execd.url}/execute`, {
      method: "POST",
      headers: { authorization: `Bearer ${routerToken}`, "content-type": "application/json" },
      body: JSON.stringify({ command: "echo $API_KEY" }),
    });
    expect(((await upstream.json()) as { stdout: string }).stdout.trim()).toBe(SECRET);
    // A call's own env still wins for that call.
    const own = await fetch(`${execd.url}/v1/execute`, {
      method: "POST",
      headers: { authorization: `Bearer ${routerToken}`, "content-type": "application/json" },
      body: JSON.stringify({ language: "bash", code: "echo $GREETING", env: { GREETING: "per-call" }, context: "after-bash" }),
    });
    expect(((await own.json()) as ExecuteAnswer).stdout.trim()).toBe("per-call");
  });

  it("logs the names it set, never a value", () => {
    const logs = execd.logs.join("\n");
    expect(logs).toContain("environment set");
    expect(logs).toContain("API_KEY");
    expect(logs).not.toContain(SECRET);
    expect(logs).not.toContain("quoted");
  });
});
