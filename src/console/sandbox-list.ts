// The namespace's sandboxes with state, pool and time left, and a form to claim a new one.
import type { SandboxInfo } from "../client/types.js";
import type { ConsoleApi } from "./api.js";
import { errorText, h, replaceChildren } from "./dom.js";
import { timeLeft } from "./format.js";
import { Refresher } from "./refresher.js";
import { sandboxActions } from "./sandbox-actions.js";
import { stateBadge } from "./state-badge.js";

const REFRESH_MS = 3000;

/** The list page; it refreshes itself until `stop()`. */
export class SandboxList {
  readonly element: HTMLElement;
  readonly #rows: HTMLElement;
  readonly #message: HTMLElement;
  readonly #pool: HTMLSelectElement;
  readonly #ttl: HTMLInputElement;
  readonly #refresher = new Refresher(() => this.#load(), REFRESH_MS);

  constructor(
    private readonly api: ConsoleApi,
    private readonly openSandbox: (id: string) => void,
  ) {
    this.#rows = h("tbody", { testId: "sandbox-rows" });
    this.#message = h("div", { class: "message", testId: "list-message" });
    this.#pool = h("select", { testId: "create-pool", attrs: { "aria-label": "warm pool" } });
    this.#ttl = h("input", { testId: "create-ttl", attrs: { type: "number", min: "10", value: "3600", "aria-label": "TTL in seconds" } });
    const create = h("button", { class: "primary", testId: "create-sandbox" }, "New sandbox");
    create.addEventListener("click", () => void this.#create(create));
    this.element = h(
      "section",
      { class: "sandbox-list", testId: "sandbox-list" },
      h("div", { class: "create" }, h("label", {}, "Warm pool ", this.#pool), h("label", {}, "TTL (s) ", this.#ttl), create),
      this.#message,
      h(
        "table",
        {},
        h("thead", {}, h("tr", {}, ...["Sandbox", "State", "Pool", "Template", "Expires in", "Created", ""].map((t) => h("th", {}, t)))),
        this.#rows,
      ),
    );
  }

  async start(): Promise<void> {
    await Promise.all([this.#loadPools(), this.#refresher.now()]);
  }

  stop(): void {
    this.#refresher.stop();
  }

  async #load(): Promise<void> {
    try {
      const sandboxes = await this.api.listSandboxes();
      sandboxes.sort((a, b) => (b.createTime ?? "").localeCompare(a.createTime ?? ""));
      replaceChildren(this.#rows, ...sandboxes.map((s) => this.#row(s)));
      if (sandboxes.length === 0)
        replaceChildren(this.#rows, h("tr", {}, h("td", { attrs: { colspan: "7" } }, "No sandboxes in this namespace.")));
    } catch (err) {
      this.#showError(err);
    }
  }

  #row(s: SandboxInfo): HTMLElement {
    const open = h("a", { attrs: { href: `#/sandbox/${encodeURIComponent(s.id)}` }, testId: "open-sandbox" }, s.displayName || s.id);
    return h(
      "tr",
      { testId: "sandbox-row", attrs: { "data-id": s.id } },
      h("td", {}, open),
      h("td", {}, stateBadge(s)),
      h("td", {}, s.warmPool),
      h("td", {}, s.template ?? ""),
      h("td", {}, timeLeft(s.expireTime, Date.now())),
      h("td", {}, s.createTime ? new Date(s.createTime).toLocaleTimeString() : ""),
      h(
        "td",
        { class: "actions" },
        ...sandboxActions(
          this.api,
          s,
          () => void this.#refresher.now(),
          (err) => this.#showError(err),
        ),
      ),
    );
  }

  async #loadPools(): Promise<void> {
    try {
      const pools = await this.api.listPools();
      replaceChildren(
        this.#pool,
        ...pools.map((p) => h("option", { attrs: { value: p.name } }, `${p.name} (${p.readyReplicas}/${p.replicas} ready)`)),
      );
      if (pools.length === 0)
        replaceChildren(this.#message, "No warm pools in this namespace: create a SandboxWarmPool to claim sandboxes here.");
    } catch (err) {
      this.#showError(err);
    }
  }

  async #create(button: HTMLButtonElement): Promise<void> {
    const pool = this.#pool.value;
    const ttl = Number(this.#ttl.value);
    if (!pool) return this.#showError(new Error("choose a warm pool first"));
    if (!Number.isInteger(ttl) || ttl < 10) return this.#showError(new Error("the TTL must be a whole number of seconds, at least 10"));
    button.disabled = true;
    replaceChildren(this.#message, `Claiming a sandbox from ${pool}…`);
    try {
      const created = await this.api.createSandbox(pool, ttl);
      replaceChildren(this.#message, `Created ${created.id} (${created.state}).`);
      this.openSandbox(created.id);
    } catch (err) {
      this.#showError(err);
    } finally {
      button.disabled = false;
    }
  }

  #showError(err: unknown): void {
    replaceChildren(this.#message, h("span", { class: "error", testId: "error" }, errorText(err)));
  }
}
