import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startExecd, type ErrorAnswer, type ExecdProcess, type ExecuteAnswer } from "./harness.js";

let execd: ExecdProcess;

beforeAll(async () => {
  execd = await startExecd({ args: ["--python", "/nonexistent/python3"] });
});
afterAll(async () => {
  await execd?.stop();
});

describe("an interpreter that cannot start", () => {
  it("fails python calls with a clear 500 and leaves other languages working", async () => {
    const python = await execd.post<ErrorAnswer>("/v1/execute", { code: "1" });
    expect(python.status).toBe(500);
    expect(python.body.error.code).toBe("interpreter_unavailable");
    expect(python.body.error.message).toContain("/nonexistent/python3");
    const created = await execd.post<ErrorAnswer>("/v1/contexts", { language: "python", id: "py" });
    expect(created.status).toBe(500);
    expect((await execd.request("/v1/contexts/py")).status).toBe(404);
    const js = await execd.post<ExecuteAnswer>("/v1/execute", { language: "javascript", code: "1 + 1" });
    expect(js.body.results[0]!.data).toBe("2");
  });
});
