import { QUANTITY_PATTERN } from "./core-primitives.js";

const BINARY_SUFFIXES: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
const DECIMAL_SUFFIXES: Record<string, number> = { n: 1e-9, u: 1e-6, m: 1e-3, "": 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };
const QUANTITY = new RegExp(QUANTITY_PATTERN);

/**
 * The value of a Kubernetes resource quantity ("2Gi", "500M", "1.5e3", "100m"), as
 * k8s.io/apimachinery reads it. Throws an error naming the text when it is not a quantity.
 */
export function quantityValue(text: string): number {
  const trimmed = text.trim();
  if (trimmed === "" || !QUANTITY.test(trimmed)) throw new Error(`"${text}" is not a Kubernetes quantity (e.g. 512Mi, 2Gi, 1G)`);
  const match = /^([+-]?[0-9.]+)(?:([eE][+-]?[0-9.]+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])?)$/.exec(trimmed);
  if (!match) throw new Error(`"${text}" is not a Kubernetes quantity (e.g. 512Mi, 2Gi, 1G)`);
  const [, number = "", exponent, suffix = ""] = match;
  const base = Number(number);
  if (exponent !== undefined) return base * 10 ** Number(exponent.slice(1));
  return base * (BINARY_SUFFIXES[suffix] ?? DECIMAL_SUFFIXES[suffix] ?? 1);
}

/** A quantity of bytes rounded up to a whole byte, as a size given to a filesystem must be. */
export function quantityBytes(text: string): number {
  const value = quantityValue(text);
  if (value < 0) throw new Error(`"${text}" is negative; a size must not be`);
  return Math.ceil(value);
}
