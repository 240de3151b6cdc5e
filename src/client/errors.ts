// Typed errors of the SDK: callers branch on the class, not on message text.

/** Base class of every error the SDK throws on purpose. */
export class SandboxError extends Error {
  constructor(
    message: string,
    /** HTTP status when the error came from the router, the API server or the sandbox. */
    readonly status?: number,
    /** Stable machine-readable code (e.g. "not_found", "unauthenticated"). */
    readonly code?: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** No credentials, or credentials the router / API server rejected (401). */
export class UnauthorizedError extends SandboxError {}
/** Authenticated, but not allowed to touch this sandbox or namespace (403). */
export class ForbiddenError extends SandboxError {}
/** The sandbox (or warm pool, template, file) does not exist (404). */
export class SandboxNotFoundError extends SandboxError {}
/**
 * The sandbox exists but is not Ready yet (503; retry after `retryAfterSeconds`), or has no
 * Sandbox yet to suspend or resume (409, code "not_bound").
 */
export class SandboxNotReadyError extends SandboxError {
  constructor(
    message: string,
    status: number | undefined,
    code: string | undefined,
    readonly retryAfterSeconds?: number,
  ) {
    super(message, status, code);
  }
}
/** The sandbox's TTL ran out (410); its state stays visible but it cannot run code. */
export class SandboxExpiredError extends SandboxError {}
/** The sandbox could not be provisioned (bad template, rejected metadata, pod failed). */
export class SandboxFailedError extends SandboxError {
  constructor(
    message: string,
    readonly reason?: string,
  ) {
    super(message, 422, "sandbox_failed");
  }
}
/** Something did not happen in time: waiting for Ready, a call's timeout, a command's timeout. */
export class TimeoutError extends SandboxError {}
/** The request was malformed (400) or too large (413). */
export class InvalidRequestError extends SandboxError {}

export interface ExecutionErrorDetails {
  name: string;
  message: string;
  traceback: string;
}

/**
 * The code ran and raised (a Python exception, a JavaScript throw, a non-zero bash cell).
 * `result` has everything the call produced up to the error (stdout, files, ...).
 */
export class ExecutionError extends SandboxError {
  readonly errorName: string;
  readonly traceback: string;
  constructor(
    readonly details: ExecutionErrorDetails,
    readonly result: import("./types.js").RunResult,
  ) {
    super(`${details.name}: ${details.message}`, 200, "execution_error");
    this.errorName = details.name;
    this.traceback = details.traceback;
  }
}

/** Maps an HTTP error answer ({error: {code, message}}) to the matching typed error. */
export function errorFromResponse(status: number, body: unknown, headers?: Headers, what = "request"): SandboxError {
  const err = (body as { error?: { code?: string; message?: string } } | undefined)?.error;
  const code = err?.code;
  const message = err?.message ?? (typeof body === "string" && body ? body : `${what} failed with HTTP ${status}`);
  switch (status) {
    case 400:
    case 413:
      return new InvalidRequestError(message, status, code);
    case 401:
      return new UnauthorizedError(message, status, code);
    case 403:
      return new ForbiddenError(message, status, code);
    case 404:
      return new SandboxNotFoundError(message, status, code);
    case 409:
      if (code === "not_bound") return new SandboxNotReadyError(message, status, code);
      return new SandboxError(message, status, code);
    case 410:
      return new SandboxExpiredError(message, status, code);
    case 422:
      if (code === "sandbox_failed") return new SandboxFailedError(message);
      return new InvalidRequestError(message, status, code);
    case 503: {
      const retry = Number(headers?.get("retry-after"));
      return new SandboxNotReadyError(message, status, code, Number.isFinite(retry) ? retry : undefined);
    }
    case 504:
      return new TimeoutError(message, status, code);
    default:
      return new SandboxError(message, status, code);
  }
}
