// Property-based: every JSON endpoint, fed malformed JSON, truncated JSON, wrong types, bad
// base64 and bad env names, answers 400 with a JSON error naming the field (or saying the
// body is not JSON), and the server keeps serving; nothing is left outside the workspace.
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  expectOutsideUntouched,
  expectServerHealthy,
  expectWellFormed,
  auth,
  errorMessage,
  startFuzzWorld,
  type FuzzWorld,
} from "./fuzz-fixture.js";
import { rawRequest } from "./raw-http.js";

let world: FuzzWorld;
beforeAll(async () => {
  world = await startFuzzWorld();
});
afterAll(async () => {
  await world?.stop();
});

type Body = Record<string, unknown>;

/** A valid body per endpoint; each mutation below breaks exactly one field of it. */
const VALID: Record<string, Body> = {
  "/execute": { command: "true" },
  "/v1/execute": {
    code: "1+1",
    language: "python",
    context: "default",
    files: [{ name: "in.txt", content: "eA==" }],
    timeoutMs: 10_000,
    env: { A: "b" },
  },
  "/v1/executeCode": { code: "1+1", language: "python", files: [{ name: "in.txt", content: "eA==" }], timeoutMs: 10_000 },
  "/v1/contexts": { language: "python", id: "fuzz-ctx" },
};

const notString = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 4 }), fc.integer(), { maxKeys: 2 }),
);
const notObject = fc.oneof(
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.string({ maxLength: 8 }),
  fc.array(fc.integer(), { maxLength: 3 }),
);
const notArray = fc.oneof(
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.string({ maxLength: 8 }),
  fc.dictionary(fc.string({ maxLength: 4 }), fc.integer(), { maxKeys: 2 }),
);
const notPositiveInt = fc.oneof(
  fc.integer({ max: 0 }),
  fc.double({ noInteger: true }).filter((n) => Number.isFinite(n)),
  fc.string({ maxLength: 6 }),
  fc.boolean(),
  fc.constant(null),
);
const badLanguage = fc.oneof(
  notString,
  fc.string({ maxLength: 12 }).filter((s) => !["python", "javascript", "bash"].includes(s)),
);
/** Not standard padded base64: a stray character, url-safe alphabet, bad padding or length. */
const badBase64 = fc.oneof(
  fc.string({ minLength: 1, maxLength: 12 }).filter((s) => !/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 !== 0),
  fc.constantFrom("a", "ab=", "abc==", "a===", "====", "YQ==YQ==", "YQ=a", "-_-_", "YW Jj", "YWJj\n", "\u00e9AAA", "AA\u0000A"),
);
const badEnvKey = fc.oneof(
  fc.constantFrom("", "1A", "A-B", "A B", "A=B", "\u00e9", "A\u0000"),
  fc.string({ minLength: 1, maxLength: 6 }).filter((k) => !/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)),
);
const badContextId = fc.oneof(fc.constantFrom("", "-x", ".x", "a/b", "a b", "a\u0000b", "\u00e9", "a".repeat(129)), notString);

/** A mutation: the endpoint, the broken body, and the field the error must name. */
interface Mutation {
  endpoint: string;
  body: unknown;
  field: string;
}

const set = (endpoint: string, field: string, value: unknown, named = field): Mutation => ({
  endpoint,
  body: { ...VALID[endpoint], [field]: value },
  field: named,
});
const without = (endpoint: string, field: string): Mutation => {
  const body = { ...VALID[endpoint] };
  delete body[field];
  return { endpoint, body, field };
};

const wrongField: fc.Arbitrary<Mutation> = fc.oneof(
  notString.map((v) => set("/execute", "command", v)),
  fc.constant(without("/execute", "command")),
  notString.map((v) => set("/v1/execute", "code", v)),
  fc.constant(without("/v1/execute", "code")),
  fc.constant(without("/v1/executeCode", "code")),
  badLanguage.map((v) => set("/v1/execute", "language", v)),
  badLanguage.map((v) => set("/v1/executeCode", "language", v)),
  badLanguage.map((v) => set("/v1/contexts", "language", v)),
  fc.oneof(notString, fc.constantFrom("", "x".repeat(129))).map((v) => set("/v1/execute", "context", v)),
  notPositiveInt.map((v) => set("/v1/execute", "timeoutMs", v)),
  notPositiveInt.map((v) => set("/v1/executeCode", "timeoutMs", v)),
  notArray.map((v) => set("/v1/execute", "files", v)),
  notArray.map((v) => set("/v1/executeCode", "files", v)),
  notObject.map((v) => set("/v1/execute", "files", [v], "files.0")),
  fc.oneof(notString, fc.constant("")).map((v) => set("/v1/execute", "files", [{ name: v, content: "eA==" }], "files.0.name")),
  fc.constant(set("/v1/execute", "files", [{ content: "eA==" }], "files.0.name")),
  notString.map((v) => set("/v1/executeCode", "files", [{ name: "x", content: v }], "files.0.content")),
  badBase64.map((v) =>
    set(
      "/v1/execute",
      "files",
      [
        { name: "ok.txt", content: "eA==" },
        { name: "x", content: v },
      ],
      "files.1.content",
    ),
  ),
  badBase64.map((v) => set("/v1/executeCode", "files", [{ name: "x", content: v }], "files.0.content")),
  fc
    .oneof(
      notObject.filter((v) => v !== null),
      fc.constant(null),
    )
    .map((v) => set("/v1/execute", "env", v)),
  badEnvKey.map((k) => set("/v1/execute", "env", { [k]: "v" })),
  notString.map((v) => set("/v1/execute", "env", { OK: v }, "env.OK")),
  badContextId.map((v) => set("/v1/contexts", "id", v)),
);

const ENDPOINTS = Object.keys(VALID);
const isJson = (text: string): boolean => {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
};

/** Text that is not JSON: garbage, or a valid body cut short (never empty: that means {}). */
const notJson: fc.Arbitrary<{ endpoint: string; text: string }> = fc.oneof(
  fc
    .tuple(
      fc.constantFrom(...ENDPOINTS),
      fc.string({ unit: "binary", minLength: 1, maxLength: 64 }).filter((t) => t.trim() !== "" && !isJson(t)),
    )
    .map(([endpoint, text]) => ({ endpoint, text })),
  fc.tuple(fc.constantFrom(...ENDPOINTS), fc.nat()).map(([endpoint, cut]) => {
    const full = JSON.stringify(VALID[endpoint]);
    return { endpoint, text: full.slice(0, 1 + (cut % (full.length - 1))) };
  }),
  fc
    .tuple(fc.constantFrom(...ENDPOINTS), fc.integer({ min: 1, max: 5000 }))
    .map(([endpoint, depth]) => ({ endpoint, text: "[".repeat(depth) })),
  fc.constantFrom(...ENDPOINTS).map((endpoint) => ({ endpoint, text: '{"code": "1", "files": [{"name": "a", "content": "eA=="' })),
);

const CONTENT_TYPES = [
  "application/json",
  "text/plain",
  "application/x-www-form-urlencoded",
  "multipart/form-data",
  "application/json; charset=latin1",
  "",
  "*/*",
];

describe("fuzzed JSON bodies", () => {
  it("wrong types, bad base64 and bad names get a 400 naming the field", async () => {
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(wrongField, fc.constantFrom(...CONTENT_TYPES), async ({ endpoint, body, field }, type) => {
        runs++;
        const res = await rawRequest(world.port, {
          method: "POST",
          target: endpoint,
          headers: [auth, ...(type ? ([["Content-Type", type]] as Array<[string, string]>) : [])],
          body: JSON.stringify(body),
        });
        const what = `POST ${endpoint} ${JSON.stringify(body).slice(0, 300)}`;
        expectWellFormed(world, res, what);
        expect(res.status, `${what}: ${res.body.toString()}`).toBe(400);
        expect(errorMessage(res), what).toContain(`invalid field "${field}`);
        // A refused body must not leave its decoded files behind in the scratch directory.
        await expectOutsideUntouched(world, what);
      }),
      { seed: 0x5eed02, numRuns: 1000 },
    );
    console.log(`fuzz-bodies wrong fields: ${runs} bodies`);
    await expectServerHealthy(world);
    await expectOutsideUntouched(world, "after wrong fields");
  });

  it("bodies that are not JSON (garbage, truncated, deeply nested) get a 400 saying so", async () => {
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(notJson, async ({ endpoint, text }) => {
        runs++;
        const res = await rawRequest(world.port, {
          method: "POST",
          target: endpoint,
          headers: [auth, ["Content-Type", "application/json"]],
          body: text,
        });
        const what = `POST ${endpoint} ${JSON.stringify(text).slice(0, 200)}`;
        expectWellFormed(world, res, what);
        expect(res.status, `${what}: ${res.body.toString()}`).toBe(400);
        // A deep array is valid-looking JSON cut short, or valid JSON of the wrong shape.
        expect(errorMessage(res), what).toMatch(/not valid JSON|invalid field "body"/);
      }),
      { seed: 0x5eed03, numRuns: 800 },
    );
    console.log(`fuzz-bodies not JSON: ${runs} bodies`);
    await expectServerHealthy(world);
    await expectOutsideUntouched(world, "after bodies that are not JSON");
  });

  it("JSON that is not an object gets a 400 naming the body", async () => {
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...ENDPOINTS),
        fc.oneof(fc.integer(), fc.string(), fc.boolean(), fc.constant(null), fc.array(fc.jsonValue(), { maxLength: 4 })),
        async (endpoint, value) => {
          runs++;
          const res = await rawRequest(world.port, { method: "POST", target: endpoint, headers: [auth], body: JSON.stringify(value) });
          const what = `POST ${endpoint} ${JSON.stringify(value).slice(0, 200)}`;
          expectWellFormed(world, res, what);
          expect(res.status, what).toBe(400);
          expect(errorMessage(res), what).toContain('invalid field "body"');
        },
      ),
      { seed: 0x5eed04, numRuns: 300 },
    );
    console.log(`fuzz-bodies not an object: ${runs} bodies`);
    await expectServerHealthy(world);
    await expectOutsideUntouched(world, "after non-object bodies");
  });
});
