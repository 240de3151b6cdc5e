// A sandbox's workspace: browse directories, download a file, upload files into the current one.
import type { FileEntry } from "../client/types.js";
import type { ConsoleApi } from "./api.js";
import { errorText, h, replaceChildren } from "./dom.js";
import { formatBytes, joinPath, parentPath } from "./format.js";

/** The file browser of one sandbox. */
export class FileBrowser {
  readonly element: HTMLElement;
  readonly #location: HTMLElement;
  readonly #list: HTMLElement;
  readonly #message: HTMLElement;
  #path = "";

  constructor(
    private readonly api: ConsoleApi,
    private readonly sandboxId: string,
  ) {
    this.#location = h("code", { testId: "files-path" });
    this.#list = h("tbody");
    this.#message = h("div", { class: "message", testId: "files-message" });
    const upload = h("input", { testId: "upload-input", attrs: { type: "file", multiple: "", "aria-label": "upload files" } });
    upload.addEventListener("change", () => {
      const files = [...(upload.files ?? [])];
      upload.value = "";
      void this.#upload(files);
    });
    this.element = h(
      "section",
      { class: "files", testId: "files" },
      h("h2", {}, "Files"),
      h(
        "div",
        { class: "files-bar" },
        h("button", { testId: "files-up", on: { click: () => void this.open(parentPath(this.#path)) } }, "Up"),
        h("button", { testId: "files-refresh", on: { click: () => void this.refresh() } }, "Refresh"),
        h("label", { class: "upload" }, "Upload ", upload),
      ),
      h("div", { class: "files-location" }, "/workspace/", this.#location),
      this.#message,
      h(
        "table",
        { class: "file-table" },
        h("thead", {}, h("tr", {}, h("th", {}, "Name"), h("th", {}, "Size"), h("th", {}, "Modified"), h("th"))),
        this.#list,
      ),
    );
  }

  /** Shows a directory of the workspace ("" for its root). */
  async open(path: string): Promise<void> {
    this.#path = path;
    replaceChildren(this.#location, path);
    await this.refresh();
  }

  async refresh(): Promise<void> {
    try {
      const entries = await this.api.listFiles(this.sandboxId, this.#path);
      entries.sort((a, b) => Number(b.type === "directory") - Number(a.type === "directory") || a.name.localeCompare(b.name));
      replaceChildren(this.#list, ...entries.map((e) => this.#row(e)));
      replaceChildren(this.#message, entries.length === 0 ? "This directory is empty." : "");
    } catch (err) {
      replaceChildren(this.#message, h("span", { class: "error" }, `Could not list /workspace/${this.#path}: ${errorText(err)}`));
    }
  }

  #row(entry: FileEntry): HTMLElement {
    const path = joinPath(this.#path, entry.name);
    const name =
      entry.type === "directory"
        ? h("a", { attrs: { href: "#" }, on: { click: (e) => (e.preventDefault(), void this.open(path)) } }, `${entry.name}/`)
        : h("span", {}, entry.name);
    const action =
      entry.type === "file"
        ? h("button", { testId: "download", on: { click: () => void this.#download(path, entry.name) } }, "Download")
        : "";
    return h(
      "tr",
      { testId: "file-row", attrs: { "data-name": entry.name } },
      h("td", {}, name),
      h("td", { class: "num" }, entry.type === "file" ? formatBytes(entry.size) : ""),
      h("td", {}, entry.modifiedAt ? new Date(entry.modifiedAt).toLocaleString() : ""),
      h("td", {}, action),
    );
  }

  async #download(path: string, name: string): Promise<void> {
    try {
      const blob = await this.api.downloadFile(this.sandboxId, path);
      const url = URL.createObjectURL(blob);
      const link = h("a", { attrs: { href: url, download: name } });
      document.body.appendChild(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
    } catch (err) {
      replaceChildren(this.#message, h("span", { class: "error" }, `Could not download ${path}: ${errorText(err)}`));
    }
  }

  async #upload(files: File[]): Promise<void> {
    for (const file of files) {
      const path = joinPath(this.#path, file.name);
      replaceChildren(this.#message, `Uploading ${file.name} (${formatBytes(file.size)})…`);
      try {
        await this.api.uploadFile(this.sandboxId, path, file);
      } catch (err) {
        replaceChildren(this.#message, h("span", { class: "error" }, `Could not upload ${file.name}: ${errorText(err)}`));
        return;
      }
    }
    await this.refresh();
    if (files.length > 0) replaceChildren(this.#message, `Uploaded ${files.map((f) => f.name).join(", ")}.`);
  }
}
