// The execution server as the operator starts it in a sandbox pod: told its sandbox
// (namespace/name/uid) and the router's public key, it accepts only router-signed tokens for
// that sandbox, and still warms its execute path up through its own HTTP stack.
import { generateKeyPairSync } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodePublicKey, ExecdTokenSigner, formatSandboxIdentity } from "../../src/execd-token/index.js";
import { startExecd, type ExecdProcess } from "./harness.js";

const router = generateKeyPairSync("ed25519");
const stranger = generateKeyPairSync("ed25519");
const mine = { namespace: "team", name: "mine", uid: "11111111-1111-4111-8111-111111111111" };
let execd: ExecdProcess;

beforeAll(async () => {
  execd = await startExecd({ args: ["--sandbox", formatSandboxIdentity(mine), "--trusted-key", encodePublicKey(router.publicKey)] });
}, 60_000);
afterAll(async () => {
  await execd?.stop();
});

async function contexts(token: string | undefined): Promise<number> {
  const res = await fetch(`${execd.url}/v1/contexts`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  await res.body?.cancel();
  return res.status;
}

describe("an execution server bound to its sandbox", () => {
  it("accepts a router-signed token for its own sandbox, on every route", async () => {
    const { token } = await new ExecdTokenSigner(router.privateKey).sign(mine);
    expect(await contexts(token)).toBe(200);
    const res = await fetch(`${execd.url}/v1/execute`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ language: "bash", code: "echo signed" }),
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { stdout: string }).stdout).toBe("signed\n");
  });

  it("refuses no token, a token another key signed, one for another sandbox, one for a sandbox of its name with another uid, an expired one and a tampered one", async () => {
    const signer = new ExecdTokenSigner(router.privateKey);
    const good = (await signer.sign(mine)).token;
    const [header, payload] = good.split(".");
    const cases = {
      none: undefined,
      "another key": (await new ExecdTokenSigner(stranger.privateKey).sign(mine)).token,
      "another sandbox": (await signer.sign({ ...mine, name: "theirs", uid: "22222222-2222-4222-8222-222222222222" })).token,
      "another uid": (await signer.sign({ ...mine, uid: "33333333-3333-4333-8333-333333333333" })).token,
      expired: (await signer.sign(mine, Date.now() - 5 * 60_000)).token,
      tampered: `${header}.${payload}.${Buffer.alloc(64, 1).toString("base64url")}`,
      "a fixed string": "not-a-token",
    };
    for (const [what, token] of Object.entries(cases)) expect(await contexts(token), what).toBe(401);
    expect(await contexts(good)).toBe(200);
  });

  it("keeps health open and the token key out of user code's environment", async () => {
    expect((await fetch(`${execd.url}/healthz`)).status).toBe(200);
    const { token } = await new ExecdTokenSigner(router.privateKey).sign(mine);
    const res = await fetch(`${execd.url}/v1/execute`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ language: "bash", code: "env | grep -ci token || true" }),
    });
    expect(((await res.json()) as { stdout: string }).stdout.trim()).toBe("0");
  });

  it("warmed its execute path up with a token of its own, which it no longer accepts", async () => {
    await expect.poll(() => execd.logs.some((l) => l.includes("warm-up call answered")), { timeout: 30_000 }).toBe(true);
    expect(execd.logs.some((l) => l.includes("warm-up call was refused"))).toBe(false);
  });
});

describe("an execution server that knows its sandbox but trusts no key", () => {
  it("refuses every call (fails closed)", async () => {
    const closed = await startExecd({ args: ["--sandbox", formatSandboxIdentity(mine), "--prewarm", "none"] });
    try {
      const { token } = await new ExecdTokenSigner(router.privateKey).sign(mine);
      const res = await fetch(`${closed.url}/v1/contexts`, { headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(401);
    } finally {
      await closed.stop();
    }
  }, 60_000);
});
