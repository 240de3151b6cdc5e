// The code editor of a cell: CodeMirror 6 with the cell's language, and Shift+Enter to run.
import { javascript } from "@codemirror/lang-javascript";
import { python } from "@codemirror/lang-python";
import { StreamLanguage } from "@codemirror/language";
import { shell } from "@codemirror/legacy-modes/mode/shell";
import { Compartment, Prec, type Extension } from "@codemirror/state";
import { keymap, lineNumbers } from "@codemirror/view";
import { EditorView, minimalSetup } from "codemirror";
import type { Language } from "../client/types.js";

function languageSupport(language: Language): Extension {
  switch (language) {
    case "python":
      return python();
    case "javascript":
      return javascript();
    case "bash":
      return StreamLanguage.define(shell);
  }
}

/** One cell's editor. */
export class CodeEditor {
  readonly view: EditorView;
  readonly #language = new Compartment();

  constructor(parent: HTMLElement, language: Language, code: string, onRun: () => void) {
    this.view = new EditorView({
      parent,
      doc: code,
      extensions: [
        minimalSetup,
        lineNumbers(),
        this.#language.of(languageSupport(language)),
        Prec.highest(keymap.of([{ key: "Shift-Enter", run: () => (onRun(), true) }])),
        EditorView.contentAttributes.of({ "aria-label": "code" }),
      ],
    });
  }

  get code(): string {
    return this.view.state.doc.toString();
  }

  setLanguage(language: Language): void {
    this.view.dispatch({ effects: this.#language.reconfigure(languageSupport(language)) });
  }

  focus(): void {
    this.view.focus();
  }
}
