// One sandbox: its state and actions, the notebook and the file browser side by side.
import type { SandboxInfo } from "../client/types.js";
import type { ConsoleApi } from "./api.js";
import { errorText, h, replaceChildren } from "./dom.js";
import { FileBrowser } from "./files.js";
import { timeLeft } from "./format.js";
import { Notebook } from "./notebook.js";
import { Refresher } from "./refresher.js";
import { sandboxActions } from "./sandbox-actions.js";
import { stateBadge } from "./state-badge.js";

const REFRESH_MS = 3000;

/** The page of one sandbox; it refreshes its header until `stop()`. */
export class SandboxPage {
  readonly element: HTMLElement;
  readonly #header: HTMLElement;
  readonly #message: HTMLElement;
  /** The sandbox's status message while it is not running (errors of actions go in #message). */
  readonly #status: HTMLElement;
  readonly #files: FileBrowser;
  readonly #refresher = new Refresher(() => this.#load(), REFRESH_MS);

  constructor(
    private readonly api: ConsoleApi,
    private readonly id: string,
    private readonly backToList: () => void,
  ) {
    this.#header = h("div", { class: "sandbox-header", testId: "sandbox-header" });
    this.#message = h("div", { class: "message", testId: "sandbox-message" });
    this.#status = h("div", { class: "message", testId: "sandbox-status" });
    this.#files = new FileBrowser(api, id);
    const notebook = new Notebook(api, id, () => void this.#files.refresh());
    notebook.addCell("python", "import sys\nprint(sys.version)");
    this.element = h(
      "section",
      { class: "sandbox-page", testId: "sandbox-page" },
      this.#header,
      this.#status,
      this.#message,
      h("div", { class: "panes" }, notebook.element, this.#files.element),
    );
  }

  async start(): Promise<void> {
    await Promise.all([this.#refresher.now(), this.#files.open("")]);
  }

  stop(): void {
    this.#refresher.stop();
  }

  async #load(): Promise<void> {
    try {
      this.#show(await this.api.getSandbox(this.id));
    } catch (err) {
      replaceChildren(this.#message, h("span", { class: "error", testId: "error" }, errorText(err)));
    }
  }

  #show(s: SandboxInfo): void {
    replaceChildren(
      this.#header,
      h("a", { attrs: { href: "#/" } }, "← Sandboxes"),
      h("h2", { testId: "sandbox-title" }, s.displayName || s.id),
      stateBadge(s),
      h(
        "span",
        { class: "facts" },
        `pool ${s.warmPool}`,
        s.template ? ` · template ${s.template}` : "",
        s.sandboxName ? ` · Sandbox ${s.sandboxName}` : "",
        s.expireTime ? ` · expires in ${timeLeft(s.expireTime, Date.now())}` : "",
      ),
      ...sandboxActions(
        this.api,
        s,
        (action) => (action === "deleted" ? this.backToList() : void this.#refresher.now()),
        (err) => replaceChildren(this.#message, h("span", { class: "error" }, errorText(err))),
      ),
    );
    replaceChildren(this.#status, s.state !== "running" && s.message ? s.message : "");
  }
}
