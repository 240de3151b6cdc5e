// The buttons that change a sandbox (suspend, resume, delete), shared by the list and the
// sandbox page so both offer the same actions with the same confirmations.
import type { SandboxInfo } from "../client/types.js";
import type { ConsoleApi } from "./api.js";
import { h } from "./dom.js";

/** Buttons for what can be done to a sandbox in its state; `after` runs once an action succeeded. */
export function sandboxActions(
  api: ConsoleApi,
  sandbox: SandboxInfo,
  after: (action: "suspended" | "resumed" | "deleted") => void,
  onError: (err: unknown) => void,
): HTMLElement[] {
  const act = (button: HTMLButtonElement, call: () => Promise<void>, done: "suspended" | "resumed" | "deleted"): void => {
    button.disabled = true;
    call().then(
      () => after(done),
      (err: unknown) => {
        button.disabled = false;
        onError(err);
      },
    );
  };
  const buttons: HTMLElement[] = [];
  if (sandbox.state === "running" || sandbox.state === "creating") {
    const suspend = h("button", { testId: "suspend" }, "Suspend");
    suspend.addEventListener("click", () => {
      if (confirm(`Suspend ${sandbox.id}? Its pod stops: running code, variables and an emptyDir workspace are lost.`))
        act(suspend, () => api.suspendSandbox(sandbox.id), "suspended");
    });
    buttons.push(suspend);
  }
  if (sandbox.state === "suspended") {
    const resume = h("button", { testId: "resume" }, "Resume");
    resume.addEventListener("click", () => act(resume, () => api.resumeSandbox(sandbox.id), "resumed"));
    buttons.push(resume);
  }
  if (sandbox.state !== "deleting") {
    const remove = h("button", { class: "danger", testId: "delete" }, "Delete");
    remove.addEventListener("click", () => {
      if (confirm(`Delete ${sandbox.id}? Its pod and workspace are deleted.`)) act(remove, () => api.deleteSandbox(sandbox.id), "deleted");
    });
    buttons.push(remove);
  }
  return buttons;
}
