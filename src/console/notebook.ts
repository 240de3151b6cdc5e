// A sandbox's notebook: code cells, each run in its language's default context of the sandbox,
// so variables and imports carry from cell to cell. Output streams in as the call runs.
import type { Language } from "../client/types.js";
import type { ConsoleApi } from "./api.js";
import { append, errorText, h, replaceChildren } from "./dom.js";
import { CodeEditor } from "./editor.js";
import type { CallSummary, ExecuteEvent } from "./execute-events.js";
import { formatBytes } from "./format.js";
import { resultsToShow } from "./result-view.js";
import { renderResult } from "./results.js";

const LANGUAGES: readonly Language[] = ["python", "javascript", "bash"];

/** The notebook of one sandbox. */
export class Notebook {
  readonly element: HTMLElement;
  readonly #cells: HTMLElement;
  #count = 0;

  constructor(
    private readonly api: ConsoleApi,
    private readonly sandboxId: string,
    private readonly onFilesChanged: () => void,
  ) {
    this.#cells = h("div", { class: "cells" });
    const add = (language: Language): HTMLButtonElement =>
      h("button", { testId: `add-${language}-cell`, on: { click: () => this.addCell(language).focus() } }, `+ ${language}`);
    this.element = h(
      "section",
      { class: "notebook", testId: "notebook" },
      h("h2", {}, "Notebook"),
      this.#cells,
      h("div", { class: "add-cells" }, ...LANGUAGES.map(add)),
    );
  }

  /** Adds a cell at the end and returns its editor. */
  addCell(language: Language, code = ""): CodeEditor {
    const index = ++this.#count;
    const output = h("div", { class: "cell-output", testId: "cell-output" });
    const status = h("span", { class: "cell-status", testId: "cell-status" });
    const picker = h(
      "select",
      { testId: "cell-language", attrs: { "aria-label": "language" } },
      ...LANGUAGES.map((l) => h("option", { attrs: l === language ? { value: l, selected: "" } : { value: l } }, l)),
    );
    const runButton = h("button", { class: "primary", testId: "run-cell" }, "Run");
    const editorHost = h("div", { class: "cell-editor" });
    const cell = h(
      "div",
      { class: "cell", testId: "cell" },
      h("div", { class: "cell-bar" }, h("span", { class: "cell-index" }, `[${index}]`), picker, runButton, status),
      editorHost,
      output,
    );
    this.#cells.appendChild(cell);
    let running = false;
    const run = (): void => {
      if (running) return;
      running = true;
      runButton.disabled = true;
      void this.#run(editor.code, picker.value as Language, output, status).finally(() => {
        running = false;
        runButton.disabled = false;
      });
    };
    const editor = new CodeEditor(editorHost, language, code, run);
    picker.addEventListener("change", () => editor.setLanguage(picker.value as Language));
    runButton.addEventListener("click", run);
    return editor;
  }

  async #run(code: string, language: Language, output: HTMLElement, status: HTMLElement): Promise<void> {
    replaceChildren(output);
    replaceChildren(status, "running…");
    status.className = "cell-status running";
    const view = new CallView(output);
    const started = performance.now();
    try {
      await this.api.execute(this.sandboxId, { code, language }, (event) => view.add(event));
      view.finish();
      replaceChildren(status, view.statusLine() ?? `done in ${Math.round(performance.now() - started)} ms`);
      status.className = `cell-status ${view.failed ? "failed" : "ok"}`;
    } catch (err) {
      view.finish();
      append(output, h("pre", { class: "call-error", testId: "call-error" }, errorText(err)));
      replaceChildren(status, "failed");
      status.className = "cell-status failed";
    }
    if (view.wroteFiles) this.onFilesChanged();
  }
}

/** The output area of one call, filled event by event. */
class CallView {
  #stream: { type: "stdout" | "stderr"; el: HTMLElement } | undefined;
  #results: ExecuteEvent[] = [];
  #summary: CallSummary | undefined;
  failed = false;
  wroteFiles = false;

  constructor(private readonly output: HTMLElement) {}

  add(event: ExecuteEvent): void {
    switch (event.type) {
      case "stdout":
      case "stderr":
        // Consecutive text of one stream goes into one block, so output reads as it was written.
        if (this.#stream?.type !== event.type) {
          const el = h("pre", { class: event.type, testId: event.type });
          this.output.appendChild(el);
          this.#stream = { type: event.type, el };
        }
        this.#stream.el.append(event.text);
        return;
      case "error":
        this.failed = true;
        this.#stream = undefined;
        append(this.output, h("div", { class: "exec-error", testId: "exec-error" }, `${event.name}: ${event.message}`));
        return;
      case "result":
        // Results are drawn together at the end: a value's HTML form replaces its plain text.
        this.#results.push(event);
        return;
      case "outputFile":
        this.wroteFiles = true;
        this.#stream = undefined;
        append(this.output, h("div", { class: "output-file" }, `wrote ${event.name} (${formatBytes(event.size)})`));
        return;
      case "summary":
        this.#summary = event.summary;
        if (event.summary.exitCode !== 0) this.failed = true;
        if (event.summary.context?.stateLost) {
          append(
            this.output,
            h(
              "div",
              { class: "state-lost", testId: "state-lost" },
              `The ${event.summary.context.id} context started afresh: earlier variables are gone. ${event.summary.context.restartReason ?? ""}`,
            ),
          );
        }
        return;
      case "unknown":
        return;
    }
  }

  finish(): void {
    const results = this.#results.flatMap((e) => (e.type === "result" ? [e.result] : []));
    for (const result of resultsToShow(results)) this.output.appendChild(renderResult(result));
  }

  statusLine(): string | undefined {
    const s = this.#summary;
    if (!s) return undefined;
    return `exit ${s.exitCode} · ${Math.round(s.durationMs)} ms${s.context ? ` · context ${s.context.id}` : ""}`;
  }
}
