// The NDJSON events of a streamed /v1/execute call, checked one by one as they arrive.
import type { Language, RichResult } from "../client/types.js";

/** How a call ended: the server's last event. */
export interface CallSummary {
  exitCode: number;
  durationMs: number;
  context?: { id: string; language: Language; stateLost?: boolean; restartReason?: string } | undefined;
}

/** One event of a streamed call, as the console uses it. */
export type ExecuteEvent =
  | { type: "stdout" | "stderr"; text: string }
  | { type: "result"; result: RichResult }
  | { type: "error"; name: string; message: string; traceback: string }
  | { type: "outputFile"; name: string; size: number }
  | { type: "summary"; summary: CallSummary }
  | { type: "unknown"; raw: string };

const str = (v: unknown): string => (typeof v === "string" ? v : "");
const num = (v: unknown): number => (typeof v === "number" && Number.isFinite(v) ? v : 0);

/** Narrows one parsed NDJSON line; anything unexpected is kept as `unknown` rather than dropped. */
export function toExecuteEvent(event: Record<string, unknown>): ExecuteEvent {
  switch (event["type"]) {
    case "stdout":
    case "stderr":
      return { type: event["type"], text: str(event["text"]) };
    case "result":
      return { type: "result", result: { mimeType: str(event["mimeType"]), data: str(event["data"]) } };
    case "error":
      return { type: "error", name: str(event["name"]), message: str(event["message"]), traceback: str(event["traceback"]) };
    case "outputFile":
      return { type: "outputFile", name: str(event["name"]), size: num(event["size"]) };
    case "summary":
      return {
        type: "summary",
        summary: {
          exitCode: num(event["exitCode"]),
          durationMs: num(event["durationMs"]),
          context: contextOf(event["context"]),
        },
      };
    default:
      return { type: "unknown", raw: JSON.stringify(event) };
  }
}

function contextOf(v: unknown): CallSummary["context"] {
  if (typeof v !== "object" || v === null) return undefined;
  const c = v as Record<string, unknown>;
  const language = c["language"];
  if (typeof c["id"] !== "string" || (language !== "python" && language !== "javascript" && language !== "bash")) return undefined;
  return {
    id: c["id"],
    language,
    ...(c["stateLost"] === true ? { stateLost: true } : {}),
    ...(typeof c["restartReason"] === "string" ? { restartReason: c["restartReason"] } : {}),
  };
}
