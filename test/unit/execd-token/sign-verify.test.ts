import { generateKeyPairSync } from "node:crypto";
import { decodeProtectedHeader, SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import {
  decodePublicKey,
  encodePublicKey,
  execdAudience,
  ExecdTokenSigner,
  ExecdTokenVerifier,
  formatSandboxIdentity,
  keyId,
  parseSandboxIdentity,
  publicKeysFromPem,
  signingKeyFromPem,
} from "../../../src/execd-token/index.js";

const pair = () => generateKeyPairSync("ed25519");
const a = { namespace: "team", name: "a", uid: "uid-a" };
const b = { namespace: "team", name: "b", uid: "uid-b" };
/** A self-signed certificate as Helm's genSelfSignedCertWithKey writes it for a genPrivateKey "ed25519" key. */
const HELM_CERTIFICATE = `-----BEGIN CERTIFICATE-----
MIIBSzCB/qADAgECAhEAyd2J7oCPePvurWZxnmWVKDAFBgMrZXAwJjEkMCIGA1UE
AxMbc2FuZGJveC1yb3V0ZXIgZXhlY2QgdG9rZW5zMCAXDTI2MTIwNzAyNTE1M1oY
DzIxMjYxMTEzMDI1MTUzWjAmMSQwIgYDVQQDExtzYW5kYm94LXJvdXRlciBleGVj
ZCB0b2tlbnMwKjAFBgMrZXADIQCbb2kFb7LjSOsU2kCrG7j6V5/wXeughSeUJ+jk
ZvkuNqM/MD0wDgYDVR0PAQH/BAQDAgWgMB0GA1UdJQQWMBQGCCsGAQUFBwMBBggr
BgEFBQcDAjAMBgNVHRMBAf8EAjAAMAUGAytlcANBAI/D4FBHjuSoUh4NB9gmOnfZ
UwGxSZk5Wffuz1DmJdjCm0FyiXBcOIe+1yFxdlLLmrP3J+gtXotzoWOfl3CNXQw=
-----END CERTIFICATE-----`;
const NOW = Date.parse("2030-01-01T00:00:00Z");

describe("execution-server tokens", () => {
  it("open the sandbox they were signed for, with the trusted key", async () => {
    const { privateKey, publicKey } = pair();
    const { token, expiresAtMs } = await new ExecdTokenSigner(privateKey).sign(a, NOW);
    expect(expiresAtMs).toBe(NOW + 60_000);
    expect(decodeProtectedHeader(token)).toMatchObject({ alg: "EdDSA", typ: "execd+jwt", kid: keyId(publicKey) });
    await expect(new ExecdTokenVerifier([publicKey], a).verify(token, NOW + 30_000)).resolves.toBeUndefined();
  });

  it("are refused when another key signed them", async () => {
    const token = (await new ExecdTokenSigner(pair().privateKey).sign(a, NOW)).token;
    await expect(new ExecdTokenVerifier([pair().publicKey], a).verify(token, NOW)).rejects.toThrow(/does not trust/);
  });

  it("are refused when another key signed them under the trusted key's kid", async () => {
    const trusted = pair();
    const forged = await new SignJWT({})
      .setProtectedHeader({ alg: "EdDSA", typ: "execd+jwt", kid: keyId(trusted.publicKey) })
      .setIssuer("agent-sandbox-ts/sandbox-router")
      .setAudience(execdAudience(a))
      .setIssuedAt(Math.floor(NOW / 1000))
      .setExpirationTime(Math.floor(NOW / 1000) + 60)
      .sign(pair().privateKey);
    await expect(new ExecdTokenVerifier([trusted.publicKey], a).verify(forged, NOW)).rejects.toThrow(/signature/);
  });

  it("are refused once expired (beyond the allowed clock skew), and accepted within it", async () => {
    const { privateKey, publicKey } = pair();
    const { token } = await new ExecdTokenSigner(privateKey).sign(a, NOW);
    const verifier = new ExecdTokenVerifier([publicKey], a);
    await expect(verifier.verify(token, NOW + 63_000)).resolves.toBeUndefined();
    await expect(verifier.verify(token, NOW + 70_000)).rejects.toThrow(/exp/);
  });

  it("are refused when issued long ago even if their expiry is far ahead", async () => {
    const { privateKey, publicKey } = pair();
    const long = await new SignJWT({})
      .setProtectedHeader({ alg: "EdDSA", typ: "execd+jwt", kid: keyId(publicKey) })
      .setIssuer("agent-sandbox-ts/sandbox-router")
      .setAudience(execdAudience(a))
      .setIssuedAt(Math.floor(NOW / 1000) - 3600)
      .setExpirationTime(Math.floor(NOW / 1000) + 3600)
      .sign(privateKey);
    await expect(new ExecdTokenVerifier([publicKey], a).verify(long, NOW)).rejects.toThrow(/iat|age/);
  });

  it("are refused by another sandbox, by a sandbox of the same name with another uid, and in another namespace", async () => {
    const { privateKey, publicKey } = pair();
    const { token } = await new ExecdTokenSigner(privateKey).sign(a, NOW);
    await expect(new ExecdTokenVerifier([publicKey], b).verify(token, NOW)).rejects.toThrow(/aud/);
    await expect(new ExecdTokenVerifier([publicKey], { ...a, uid: "uid-a-recreated" }).verify(token, NOW)).rejects.toThrow(/aud/);
    await expect(new ExecdTokenVerifier([publicKey], { ...a, namespace: "other" }).verify(token, NOW)).rejects.toThrow(/aud/);
  });

  it("are refused when tampered with", async () => {
    const { privateKey, publicKey } = pair();
    const { token } = await new ExecdTokenSigner(privateKey).sign(a, NOW);
    const [header, payload, signature] = token.split(".");
    const claims = JSON.parse(Buffer.from(payload ?? "", "base64url").toString()) as Record<string, unknown>;
    const retargeted = Buffer.from(JSON.stringify({ ...claims, aud: execdAudience(b) })).toString("base64url");
    await expect(new ExecdTokenVerifier([publicKey], b).verify(`${header}.${retargeted}.${signature}`, NOW)).rejects.toThrow(/signature/);
    const unsigned = `${Buffer.from(JSON.stringify({ alg: "none", typ: "execd+jwt" })).toString("base64url")}.${payload}.`;
    await expect(new ExecdTokenVerifier([publicKey], a).verify(unsigned, NOW)).rejects.toThrow();
  });

  it("are refused when they are another kind of token from the same issuer (the router's HS256 sandbox tokens)", async () => {
    const { publicKey } = pair();
    const scoped = await new SignJWT({ ns: "team", name: "a", sandbox_uid: "uid-a" })
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .setIssuer("agent-sandbox-ts/sandbox-router")
      .setAudience(execdAudience(a))
      .setIssuedAt(Math.floor(NOW / 1000))
      .setExpirationTime(Math.floor(NOW / 1000) + 60)
      .sign(Buffer.alloc(32, 7));
    await expect(new ExecdTokenVerifier([publicKey], a).verify(scoped, NOW)).rejects.toThrow();
  });

  it("are checked against whichever of several trusted keys signed them (rotation)", async () => {
    const old = pair();
    const next = pair();
    const verifier = new ExecdTokenVerifier([old.publicKey, next.publicKey], a);
    await expect(verifier.verify((await new ExecdTokenSigner(old.privateKey).sign(a, NOW)).token, NOW)).resolves.toBeUndefined();
    await expect(verifier.verify((await new ExecdTokenSigner(next.privateKey).sign(a, NOW)).token, NOW)).resolves.toBeUndefined();
  });

  it("are reused per sandbox until shortly before they expire", async () => {
    const signer = new ExecdTokenSigner(pair().privateKey);
    const first = await signer.tokenFor(a, NOW);
    expect(await signer.tokenFor(a, NOW + 39_000)).toBe(first);
    expect((await signer.tokenFor(b, NOW)).token).not.toBe(first.token);
    const renewed = await signer.tokenFor(a, NOW + 41_000);
    expect(renewed.token).not.toBe(first.token);
    expect(renewed.expiresAtMs).toBe(NOW + 41_000 + 60_000);
  });
});

describe("execution-server token keys", () => {
  it("read a private key, its public key, or a certificate holding it, as the same trusted key", () => {
    const { privateKey, publicKey } = pair();
    const privatePem = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    const publicPem = publicKey.export({ type: "spki", format: "pem" }).toString();
    expect(keyId(signingKeyFromPem(privatePem))).toBe(keyId(publicKey));
    const [fromPrivate] = publicKeysFromPem(privatePem);
    const [fromPublic] = publicKeysFromPem(publicPem);
    expect(fromPrivate && encodePublicKey(fromPrivate)).toBe(encodePublicKey(publicKey));
    expect(fromPublic && encodePublicKey(fromPublic)).toBe(encodePublicKey(publicKey));
    expect(publicKeysFromPem(`${publicPem}\n${pair().publicKey.export({ type: "spki", format: "pem" }).toString()}`)).toHaveLength(2);
    expect(encodePublicKey(decodePublicKey(encodePublicKey(publicKey)))).toBe(encodePublicKey(publicKey));
  });

  it("read the public key out of a certificate (what the Helm chart stores next to the key it generates)", () => {
    const [key] = publicKeysFromPem(HELM_CERTIFICATE);
    expect(key && encodePublicKey(key)).toBe("MCowBQYDK2VwAyEAm29pBW+y40jrFNpAqxu4+lef8F3roIUnlCfo5Gb5LjY=");
  });

  it("refuse keys that are not Ed25519, and files without a key", () => {
    const ec = generateKeyPairSync("ec", { namedCurve: "P-256" });
    expect(() => signingKeyFromPem(ec.privateKey.export({ type: "pkcs8", format: "pem" }))).toThrow(/Ed25519/);
    expect(() => publicKeysFromPem(ec.publicKey.export({ type: "spki", format: "pem" }).toString())).toThrow(/Ed25519/);
    expect(() => publicKeysFromPem("not a key")).toThrow(/no PEM/);
  });

  it("name a sandbox as namespace/name/uid", () => {
    expect(parseSandboxIdentity(formatSandboxIdentity(a))).toEqual(a);
    expect(() => parseSandboxIdentity("team/a")).toThrow(/namespace/);
  });
});
