// The listen addresses the operator's, the router's and sandboxctl's flags take.
import { InvalidArgumentError } from "commander";
import { describe, expect, it } from "vitest";
import { listenAddress, parseHostPort } from "../../../src/shared/flags/host-port.js";

describe("parseHostPort", () => {
  it("reads host and port, IPv6 hosts bracketed", () => {
    expect(parseHostPort("127.0.0.1:8765")).toEqual({ host: "127.0.0.1", port: 8765 });
    expect(parseHostPort("[::1]:8080")).toEqual({ host: "::1", port: 8080 });
    expect(parseHostPort("localhost:0")).toEqual({ host: "localhost", port: 0 });
  });

  it("lets a listen address leave the host out, and requires it otherwise", () => {
    expect(listenAddress(":8081")).toEqual({ host: "0.0.0.0", port: 8081 });
    expect(() => parseHostPort(":8081")).toThrow('expected host:port (e.g. 127.0.0.1:8080), got ":8081"');
  });

  it("names the bad value, as the flag's error", () => {
    for (const bad of ["8080", "host:", "host:http", "host:65536", "host:-1", "host:1.5", ""]) {
      expect(() => listenAddress(bad), bad).toThrow(InvalidArgumentError);
      expect(() => listenAddress(bad), bad).toThrow(`got "${bad}"`);
    }
  });
});
