// The web console's entry point: a sign-in form, then the sandbox list and sandbox pages, chosen
// by the URL's fragment (#/ and #/sandbox/{id}). The token is held in memory only.
import { ConsoleApi } from "./api.js";
import { errorText, h, replaceChildren } from "./dom.js";
import { SandboxList } from "./sandbox-list.js";
import { SandboxPage } from "./sandbox-page.js";

interface Page {
  element: HTMLElement;
  start(): Promise<void>;
  stop(): void;
}

const root = document.getElementById("app") ?? document.body;
/** The router's root: the console is served at {root}/ui/. */
const routerRoot = new URL("../", location.href);
let api: ConsoleApi | undefined;
let page: Page | undefined;

function showSignIn(problem?: string): void {
  page?.stop();
  page = undefined;
  api = undefined;
  const token = h("input", { testId: "token", attrs: { type: "password", autocomplete: "off", required: "", "aria-label": "token" } });
  const namespace = h("input", { testId: "namespace", attrs: { type: "text", value: "default", required: "", "aria-label": "namespace" } });
  const message = h("div", { class: "message", testId: "signin-message" }, problem ? h("span", { class: "error" }, problem) : "");
  const form = h(
    "form",
    { class: "signin", testId: "signin" },
    h("h1", {}, "Agent Sandbox"),
    h("p", {}, "Paste a token the router accepts: a Kubernetes ServiceAccount or user token. It stays in this page's memory only."),
    h("label", {}, "Token", token),
    h("label", {}, "Namespace", namespace),
    h("button", { class: "primary", testId: "signin-button", attrs: { type: "submit" } }, "Sign in"),
    message,
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    void signIn(token.value.trim(), namespace.value.trim(), message);
  });
  replaceChildren(root, form);
  token.focus();
}

async function signIn(token: string, namespace: string, message: HTMLElement): Promise<void> {
  const candidate = new ConsoleApi(token, namespace, routerRoot);
  replaceChildren(message, "Checking the token…");
  try {
    await candidate.listSandboxes();
  } catch (err) {
    replaceChildren(message, h("span", { class: "error", testId: "error" }, `The router refused: ${errorText(err)}`));
    return;
  }
  api = candidate;
  route();
}

function route(): void {
  if (!api) return showSignIn();
  page?.stop();
  const signedIn = api;
  const match = /^#\/sandbox\/(.+)$/.exec(location.hash);
  page = match
    ? new SandboxPage(signedIn, decodeURIComponent(match[1] ?? ""), () => (location.hash = "#/"))
    : new SandboxList(signedIn, (id) => (location.hash = `#/sandbox/${encodeURIComponent(id)}`));
  const signOut = h("button", { testId: "signout", on: { click: () => showSignIn() } }, "Sign out");
  replaceChildren(
    root,
    h(
      "header",
      { class: "top" },
      h("a", { class: "brand", attrs: { href: "#/" } }, "Agent Sandbox"),
      h("span", { class: "namespace" }, `namespace ${signedIn.namespace}`),
      signOut,
    ),
    h("main", {}, page.element),
  );
  page.start().catch((err: unknown) => replaceChildren(root, h("pre", { class: "error" }, errorText(err))));
}

window.addEventListener("hashchange", route);
showSignIn();
