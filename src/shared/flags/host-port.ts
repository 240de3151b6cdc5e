// The "host:port" listen addresses the operator's, the router's and sandboxctl's flags take.
import { InvalidArgumentError } from "commander";

/** A listen address. */
export interface HostPort {
  host: string;
  port: number;
}

/**
 * Reads "host:port"; an IPv6 host may be bracketed ("[::1]:8080"). With `defaultHost`, ":8080"
 * listens on that host; without it the host is required. Throws commander's InvalidArgumentError,
 * so as an option's parser a bad value is reported as that option's error.
 */
export function parseHostPort(value: string, defaultHost?: string): HostPort {
  const at = value.lastIndexOf(":");
  const portText = at < 0 ? "" : value.slice(at + 1);
  const port = Number(portText);
  const host = (at < 0 ? "" : value.slice(0, at).replace(/^\[|\]$/g, "")) || defaultHost;
  if (!portText || !Number.isInteger(port) || port < 0 || port > 65535 || !host)
    throw new InvalidArgumentError(`expected host:port (e.g. ${defaultHost ? ":8080" : "127.0.0.1:8080"}), got "${value}"`);
  return { host, port };
}

/** An option parser for a listen address that defaults to every interface when the host is left out. */
export const listenAddress = (value: string): HostPort => parseHostPort(value, "0.0.0.0");
