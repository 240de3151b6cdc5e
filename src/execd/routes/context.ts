import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";
import type { ContextManager } from "../contexts/context-manager.js";

/** What every route handler gets: the server's configuration and shared state. */
export interface RouteDeps {
  contexts: ContextManager;
  /** realpath of the workspace; every file path is confined to it. */
  workspaceReal: string;
  maxBytes: number;
  /** Largest stdout + stderr one call returns; the rest is dropped with a marker. */
  maxOutputBytes: number;
  /** JSON bodies carry files as base64, so their limit is the file limit grown by 4/3. */
  maxJsonBytes: number;
  /** Private directory outside the workspace for decoded uploads in flight. */
  scratchDir: string;
  defaultTimeoutMs: number;
  commandTimeoutMs: number;
  shell: string;
  logger: Logger;
}

export interface RouteCall {
  req: IncomingMessage;
  res: ServerResponse;
  /** Decoded path remainder after the route's prefix (for file routes). */
  rest: string;
  query: URLSearchParams;
}
