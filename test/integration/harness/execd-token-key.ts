// The key pair of execution-server tokens in this tier: the router in-process signs with the
// private half, the operator in-process hands the public half to every sandbox it creates.
// Made once per test file (each runs in its own worker), so no key is written anywhere.
import { generateKeyPairSync } from "node:crypto";
import { encodePublicKey } from "../../../src/execd-token/index.js";

export const execdTokenKey = generateKeyPairSync("ed25519");

/** The public key as the operator's configuration carries it. */
export const execdTrustedKey = encodePublicKey(execdTokenKey.publicKey);
