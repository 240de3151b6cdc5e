// Typed API errors built from the metav1.Status body the API server returns.

export interface StatusCause {
  field?: string;
  message?: string;
  reason?: string;
}

export interface ApiStatus {
  kind?: string;
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: { name?: string; group?: string; kind?: string; causes?: StatusCause[]; retryAfterSeconds?: number };
}

export class ApiError extends Error {
  readonly code: number;
  /** metav1.StatusReason, e.g. "NotFound", "AlreadyExists", "Conflict", "Invalid". */
  readonly reason: string;
  readonly status: ApiStatus;
  readonly method: string;
  readonly path: string;

  constructor(method: string, path: string, code: number, status: ApiStatus) {
    super(`${method} ${path}: ${code} ${status.reason ?? ""} ${status.message ?? ""}`.trim());
    this.name = "ApiError";
    this.code = code;
    this.reason = status.reason ?? "";
    this.status = status;
    this.method = method;
    this.path = path;
  }

  get causes(): StatusCause[] {
    return this.status.details?.causes ?? [];
  }
}

export class NotFoundError extends ApiError {
  override name = "NotFoundError";
}
/** 409 with reason Conflict: a resourceVersion/uid precondition or optimistic lock failed. */
export class ConflictError extends ApiError {
  override name = "ConflictError";
}
/** 409 with reason AlreadyExists: create of a name that is taken. */
export class AlreadyExistsError extends ApiError {
  override name = "AlreadyExistsError";
}
/** 422: validation failed; `causes` names each offending field. */
export class InvalidError extends ApiError {
  override name = "InvalidError";
  /** "spec.foo: Invalid value ...; spec.bar: Required value" */
  fieldMessage(): string {
    return this.causes.map((c) => `${c.field ?? "?"}: ${c.message ?? c.reason ?? ""}`).join("; ");
  }
}
/** 400: malformed request, e.g. an unknown field under fieldValidation=Strict ("strict decoding error"). */
export class BadRequestError extends ApiError {
  override name = "BadRequestError";
}
export class ForbiddenError extends ApiError {
  override name = "ForbiddenError";
}
/** 410: the requested resourceVersion is too old (compacted). */
export class GoneError extends ApiError {
  override name = "GoneError";
}

export function apiErrorFrom(method: string, path: string, code: number, body: unknown): ApiError {
  const status: ApiStatus =
    body && typeof body === "object" && (body as ApiStatus).kind === "Status"
      ? (body as ApiStatus)
      : { message: typeof body === "string" ? body.slice(0, 1000) : undefined, code };
  switch (code) {
    case 400:
      return new BadRequestError(method, path, code, status);
    case 404:
      return new NotFoundError(method, path, code, status);
    case 409:
      return status.reason === "AlreadyExists"
        ? new AlreadyExistsError(method, path, code, status)
        : new ConflictError(method, path, code, status);
    case 422:
      return new InvalidError(method, path, code, status);
    case 403:
      return new ForbiddenError(method, path, code, status);
    case 410:
      return new GoneError(method, path, code, status);
    default:
      return new ApiError(method, path, code, status);
  }
}

export const isNotFound = (e: unknown): e is NotFoundError => e instanceof NotFoundError;
export const isConflict = (e: unknown): e is ConflictError => e instanceof ConflictError;
export const isAlreadyExists = (e: unknown): e is AlreadyExistsError => e instanceof AlreadyExistsError;
export const isInvalid = (e: unknown): e is InvalidError => e instanceof InvalidError;

/** Awaits `p` and maps NotFound to undefined (e.g. reads of optional objects, idempotent deletes). */
export async function ignoreNotFound<T>(p: Promise<T>): Promise<T | undefined> {
  try {
    return await p;
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}
