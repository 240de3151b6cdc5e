// A sandbox's state as the list and the sandbox page show it.
import type { SandboxInfo } from "../client/types.js";
import { h } from "./dom.js";

/** The state, colored by kind, with the status message (or reason) as its tooltip. */
export function stateBadge(s: SandboxInfo): HTMLElement {
  return h("span", { class: `state state-${s.state}`, testId: "state", attrs: { title: s.message ?? s.reason ?? "" } }, s.state);
}
