// The key pair of execution-server tokens: an Ed25519 private key the router alone holds, and
// its public half, which the operator hands to every execution server it starts. Public keys
// are not secret; they travel in pod specs as base64 of their SubjectPublicKeyInfo (DER).
import { createHash, createPrivateKey, createPublicKey, type KeyObject } from "node:crypto";

/** The public half of a key (a public key is its own). */
export function publicOf(key: KeyObject): KeyObject {
  return key.type === "public" ? key : createPublicKey(key);
}

function requireEd25519(key: KeyObject, what: string): KeyObject {
  if (key.asymmetricKeyType !== "ed25519") throw new Error(`${what} must be an Ed25519 key, got ${key.asymmetricKeyType ?? key.type}`);
  return key;
}

/** The router's signing key, from a PEM private key (PKCS#8, as `openssl genpkey -algorithm ed25519` writes). */
export function signingKeyFromPem(pem: string | Buffer): KeyObject {
  return requireEd25519(createPrivateKey(pem), "the execution-server token signing key");
}

const PEM_BLOCK = /-----BEGIN ([A-Z ]+)-----[\s\S]+?-----END \1-----/g;

/**
 * Every public key in a PEM file. A block may be a public key, a certificate (Helm can write a
 * self-signed certificate for a key it generates, but not a bare public key) or a private key
 * (its public half is taken). Several blocks are several trusted keys, which is how a key is
 * rotated without a gap.
 */
export function publicKeysFromPem(text: string): KeyObject[] {
  const blocks = text.match(PEM_BLOCK) ?? [];
  if (blocks.length === 0) throw new Error("no PEM block (public key, certificate or private key) found");
  return blocks.map((block) => requireEd25519(createPublicKey(block), "a trusted execution-server token key"));
}

/** A public key as it travels in a pod spec: base64 of its SubjectPublicKeyInfo (DER). */
export function encodePublicKey(key: KeyObject): string {
  return publicOf(key).export({ type: "spki", format: "der" }).toString("base64");
}

/** Reads encodePublicKey's form back. */
export function decodePublicKey(text: string): KeyObject {
  return requireEd25519(
    createPublicKey({ key: Buffer.from(text.trim(), "base64"), format: "der", type: "spki" }),
    "a trusted execution-server token key",
  );
}

/**
 * A short stable name for a public key (the token's `kid`), so a server that trusts several
 * keys checks a token against the one that signed it.
 */
export function keyId(key: KeyObject): string {
  return createHash("sha256")
    .update(publicOf(key).export({ type: "spki", format: "der" }))
    .digest("base64url")
    .slice(0, 16);
}

/** keyId of a public key in encodePublicKey's form, without parsing it (the text is its DER). */
export function keyIdOfEncoded(text: string): string {
  return createHash("sha256").update(Buffer.from(text.trim(), "base64")).digest("base64url").slice(0, 16);
}
