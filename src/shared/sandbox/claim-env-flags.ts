// The command line's way of writing a claim's env: `NAME=value` for a literal, and
// `NAME=secret/key` for a key of a Secret in the sandbox's namespace. Pure.
import type { ClaimEnvVarInput } from "../../api/index.js";

/** A name a shell, Python and Node all accept as a variable. */
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** A Secret's name (a DNS subdomain) and a key of its data. */
const SECRET_NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
const SECRET_KEY = /^[-._a-zA-Z0-9]+$/;

function nameOf(text: string, flag: string): { name: string; rest: string } {
  const eq = text.indexOf("=");
  if (eq < 0) throw new Error(`${flag} expects NAME=..., got "${text.length > 40 ? `${text.slice(0, 40)}...` : text}"`);
  const name = text.slice(0, eq);
  if (!ENV_NAME.test(name)) {
    throw new Error(`${flag}: "${name}" is not a variable name (letters, digits and _, not starting with a digit)`);
  }
  return { name, rest: text.slice(eq + 1) };
}

/** `--env NAME=value`: the value is everything after the first "=" (it may hold "=" itself). */
export function parseEnvFlag(text: string): ClaimEnvVarInput {
  const { name, rest } = nameOf(text, "--env");
  return { name, value: rest };
}

/**
 * `--secret-env NAME=secret/key`: the variable takes the value of `key` in Secret `secret`. The
 * error never repeats the text after "=", in case someone wrote a value there by mistake.
 */
export function parseSecretEnvFlag(text: string): ClaimEnvVarInput {
  const { name, rest } = nameOf(text, "--secret-env");
  const slash = rest.indexOf("/");
  const secret = slash < 0 ? "" : rest.slice(0, slash);
  const key = slash < 0 ? "" : rest.slice(slash + 1);
  if (!SECRET_NAME.test(secret) || secret.length > 253 || !SECRET_KEY.test(key) || key.length > 253) {
    throw new Error(
      `--secret-env ${name}: expected ${name}=<secret>/<key>, a Secret name (lower-case letters, digits, "-" and ".") and one of its keys`,
    );
  }
  return { name, valueFrom: { secretKeyRef: { name: secret, key } } };
}
