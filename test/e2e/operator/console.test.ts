// The web console in a real browser (headless Chromium) against the installed router and real
// gVisor sandboxes from a warm pool: sign in with a ServiceAccount token, claim a sandbox, run a
// pandas + matplotlib cell and see the figure and the table, keep state across cells, run
// JavaScript, upload and download files, see untrusted HTML kept harmless, suspend, resume and
// delete. CONSOLE_SCREENSHOTS=<dir> also saves the screenshots the README shows.
import { mkdir, readFile } from "node:fs/promises";
import path from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchLocalBrowser, type LocalBrowser } from "../harness/browser.js";
import { clusterEnv, createNamespace, kubectlOk, waitFor, type ClusterEnv } from "../harness/cluster.js";
import { agentToken, applyPythonPool, deleteNamespaceAndWait, routerUrl } from "./helpers.js";

const POOL = "console-pool";
const SCREENSHOTS = process.env["CONSOLE_SCREENSHOTS"];

const PANDAS_CELL = `import pandas as pd
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt

sales = pd.DataFrame({"month": ["Jan", "Feb", "Mar", "Apr"], "revenue": [120, 135, 160, 190]})
sales.plot(x="month", y="revenue", kind="bar", legend=False, title="Revenue by month")
print("rows:", len(sales))
sales`;

// HTML a sandbox returns is untrusted: script and event handlers must not run in the console,
// and nothing may be fetched from elsewhere (the image points at a closed local port).
const HOSTILE_HTML_CELL = `class Hostile:
    def _repr_html_(self):
        return ('<b id="shown">bold text</b><script>parent.document.title = "pwned-script"</script>'
                '<img src="http://127.0.0.1:9/x.png" onerror="parent.document.title = \\'pwned-onerror\\'">')
Hostile()`;

describe("the web console in a browser (real cluster, gVisor)", () => {
  let env: ClusterEnv;
  let ns: string;
  let router: string;
  let token: string;
  let local: LocalBrowser;
  let page: Page;

  const shot = async (name: string): Promise<void> => {
    if (!SCREENSHOTS) return;
    await mkdir(SCREENSHOTS, { recursive: true });
    await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
  };

  /** Types code into the last cell and runs it; returns that cell's output element. */
  const runLastCell = async (code: string): Promise<ReturnType<Page["locator"]>> => {
    const cell = page.getByTestId("cell").last();
    await cell.locator(".cm-content").fill(code);
    await cell.getByTestId("run-cell").click();
    await expect.poll(async () => cell.getByTestId("cell-status").textContent(), { timeout: 90_000 }).toMatch(/^exit \d+|failed/);
    return cell;
  };

  beforeAll(async () => {
    env = await clusterEnv();
    ns = await createNamespace(env, "e2e-op-console");
    await applyPythonPool(env, ns, POOL, { replicas: 1, waitReady: true });
    token = await agentToken(env, ns, "console-user", true);
    // What a person using the console needs: claims, pools to choose from, and suspend/resume.
    const grants: Array<[string, string]> = [
      ["get,list,create,delete", "sandboxclaims.extensions.agents.x-k8s.io"],
      ["list", "sandboxwarmpools.extensions.agents.x-k8s.io"],
      ["patch", "sandboxes.agents.x-k8s.io"],
    ];
    for (const [i, [verbs, resource]] of grants.entries()) {
      await kubectlOk(env, ["-n", ns, "create", "role", `console-${i}`, `--verb=${verbs}`, `--resource=${resource}`]);
      await kubectlOk(env, [
        "-n",
        ns,
        "create",
        "rolebinding",
        `console-${i}`,
        `--role=console-${i}`,
        `--serviceaccount=${ns}:console-user`,
      ]);
    }
    router = await routerUrl(env);
    local = await launchLocalBrowser(new URL(router).hostname);
    const context = await local.browser.newContext({ viewport: { width: 1360, height: 900 }, acceptDownloads: true });
    page = await context.newPage();
    page.on("dialog", (dialog) => void dialog.accept());
  }, 240_000);

  afterAll(async () => {
    await local?.close();
    if (env && ns) await deleteNamespaceAndWait(env, ns);
  });

  it("refuses a wrong token with the router's reason, and signs in with a good one", async () => {
    await page.goto(`${router}/ui`);
    await page.getByTestId("token").fill("not-a-token");
    await page.getByTestId("namespace").fill(ns);
    await page.getByTestId("signin-button").click();
    await expect.poll(async () => page.getByTestId("signin-message").textContent()).toContain("unauthenticated");
    await page.getByTestId("token").fill(token);
    await page.getByTestId("signin-button").click();
    await page.getByTestId("sandbox-list").waitFor();
    await expect.poll(async () => page.getByTestId("create-pool").textContent()).toContain(POOL);
    // The token is in the page's memory only: nothing in storage or cookies.
    const stored = await page.evaluate(() => {
      const w = globalThis as unknown as {
        localStorage: { length: number };
        sessionStorage: { length: number };
        document: { cookie: string };
      };
      return [w.localStorage.length, w.sessionStorage.length, w.document.cookie];
    });
    expect(stored).toEqual([0, 0, ""]);
  });

  it("claims a sandbox from the pool and runs pandas and matplotlib: the figure and the table show", async () => {
    await page.getByTestId("create-sandbox").click();
    await page.getByTestId("sandbox-page").waitFor({ timeout: 90_000 });
    await expect
      .poll(async () => page.getByTestId("sandbox-header").getByTestId("state").textContent(), { timeout: 90_000 })
      .toBe("running");

    const cell = await runLastCell(PANDAS_CELL);
    expect(await cell.getByTestId("cell-status").textContent()).toMatch(/^exit 0 · \d+ ms · context default$/);
    expect(await cell.getByTestId("stdout").textContent()).toContain("rows: 4");
    const figure = cell.getByTestId("result-image");
    await figure.waitFor();
    const size = await figure.evaluate((el) => {
      const img = el as unknown as { complete: boolean; naturalWidth: number; naturalHeight: number };
      return [img.complete, img.naturalWidth, img.naturalHeight] as const;
    });
    expect(size[0]).toBe(true);
    expect(size[1]).toBeGreaterThan(200);
    expect(size[2]).toBeGreaterThan(200);
    const table = cell.getByTestId("result-html");
    await table.waitFor();
    const frame = page.frameLocator("iframe[data-testid=result-html]").first();
    await expect.poll(async () => frame.locator("table").innerText()).toContain("190");
    expect(await frame.locator("tbody tr").count()).toBe(4);
    await shot("console-notebook");
  });

  it("keeps state between cells and runs JavaScript and bash in their own contexts", async () => {
    await page.getByTestId("add-python-cell").click();
    let cell = await runLastCell("sales['revenue'].sum()");
    expect(await cell.getByTestId("result-text").textContent()).toBe("605");

    await page.getByTestId("add-javascript-cell").click();
    cell = await runLastCell("const doubled = [1, 2, 3].map((x) => x * 2);\ndoubled");
    expect(await cell.getByTestId("result-text").textContent()).toBe("[ 2, 4, 6 ]");
    expect(await cell.getByTestId("cell-status").textContent()).toContain("context default-javascript");

    await page.getByTestId("add-bash-cell").click();
    cell = await runLastCell("echo from bash; false");
    expect(await cell.getByTestId("stdout").textContent()).toContain("from bash");
    expect(await cell.getByTestId("cell-status").textContent()).toMatch(/^exit 1 /);
  });

  it("shows a traceback for a failing cell", async () => {
    await page.getByTestId("add-python-cell").click();
    const cell = await runLastCell("1 / 0");
    expect(await cell.getByTestId("exec-error").textContent()).toBe("ZeroDivisionError: division by zero");
    expect(await cell.getByTestId("stderr").textContent()).toContain("Traceback");
  });

  it("uploads a file, lets code read it, and downloads what code wrote", async () => {
    await page
      .getByTestId("upload-input")
      .setInputFiles({ name: "notes.txt", mimeType: "text/plain", buffer: Buffer.from("hello from the browser\n") });
    await page.locator('[data-testid=file-row][data-name="notes.txt"]').waitFor();

    await page.getByTestId("add-python-cell").click();
    const cell = await runLastCell("text = open('notes.txt').read()\nsales.to_csv('report.csv', index=False)\ntext.strip().upper()");
    expect(await cell.getByTestId("result-text").textContent()).toBe("'HELLO FROM THE BROWSER'");
    await page.locator('[data-testid=file-row][data-name="report.csv"]').waitFor();

    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.locator('[data-testid=file-row][data-name="report.csv"]').getByTestId("download").click(),
    ]);
    expect(download.suggestedFilename()).toBe("report.csv");
    const saved = await download.path();
    expect(await readFile(saved, "utf8")).toBe("month,revenue\nJan,120\nFeb,135\nMar,160\nApr,190\n");
    await shot("console-files");
  });

  it("keeps untrusted HTML output harmless: no script runs and nothing is fetched", async () => {
    await page.getByTestId("add-python-cell").click();
    await runLastCell(HOSTILE_HTML_CELL);
    const frame = page.frameLocator("iframe[data-testid=result-html]").last();
    expect(await frame.locator("#shown").textContent()).toBe("bold text");
    expect(await frame.locator("script").count()).toBe(0);
    expect(await frame.locator("img").getAttribute("onerror")).toBeNull();
    expect(await frame.locator("img").getAttribute("src")).toBeNull();
    await page.waitForTimeout(500);
    expect(await page.title()).toBe("Agent Sandbox console");
  });

  it("suspends and resumes the sandbox, then deletes it", async () => {
    const id = (await page.getByTestId("sandbox-title").textContent()) ?? "";
    // The list shows it running; back to its page through the list (the token survives: no reload).
    await page.getByRole("link", { name: "← Sandboxes" }).click();
    const row = page.locator(`[data-testid=sandbox-row][data-id="${id}"]`);
    expect(await row.getByTestId("state").textContent()).toBe("running");
    await shot("console-sandboxes");
    await row.getByTestId("open-sandbox").click();
    const state = async (): Promise<string | null> => page.getByTestId("sandbox-header").getByTestId("state").textContent();
    await page.getByTestId("suspend").click();
    await expect.poll(state, { timeout: 60_000 }).toBe("suspended");
    const sandboxName = (await kubectlOk(env, ["-n", ns, "get", "sandboxclaim", id, "-o", "jsonpath={.status.sandbox.name}"])).trim();
    expect(await kubectlOk(env, ["-n", ns, "get", "sandbox", sandboxName, "-o", "jsonpath={.spec.operatingMode}"])).toBe("Suspended");

    await page.getByTestId("resume").click();
    await expect.poll(state, { timeout: 120_000 }).toBe("running");
    await page.getByTestId("add-python-cell").click();
    const cell = await runLastCell("'back'");
    expect(await cell.getByTestId("result-text").textContent()).toBe("'back'");

    await page.getByTestId("delete").click();
    await page.getByTestId("sandbox-list").waitFor();
    await waitFor(
      async () => (await kubectlOk(env, ["-n", ns, "get", "sandboxclaims", "-o", "name"])).trim() === "",
      60_000,
      `claim ${id} deleted`,
    );
  });

  it("reached nothing but the router", () => {
    expect(local.strayRequests()).toEqual([]);
  });
});
