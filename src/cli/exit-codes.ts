import {
  ExecutionError,
  ForbiddenError,
  InvalidRequestError,
  SandboxExpiredError,
  SandboxFailedError,
  SandboxNotFoundError,
  SandboxNotReadyError,
  TimeoutError,
  UnauthorizedError,
} from "../client/index.js";

/** Exit codes scripts can branch on (also listed in `sandboxctl --help`). */
export const ExitCode = {
  Ok: 0,
  /** Anything unexpected (network failure, server error). */
  Error: 1,
  /** Bad flags, arguments or input (also a 400 from the server). */
  Usage: 2,
  /** The sandbox, pool, template or file does not exist. */
  NotFound: 3,
  /** No or rejected credentials (401), or not allowed (403). */
  Auth: 4,
  /** Waiting for Ready or a call's timeout ran out. */
  Timeout: 5,
  /** The code raised, or the shell command exited non-zero. */
  ExecutionFailed: 6,
  /** The sandbox is not Ready, has expired, or failed to start. */
  Unavailable: 7,
} as const;

export const EXIT_CODE_HELP = `Exit codes:
  0  success
  1  unexpected error (network, server)
  2  usage error: bad flags, arguments or input
  3  not found: sandbox, warm pool, template or file
  4  unauthenticated (401) or forbidden (403)
  5  timed out (waiting for Ready, or the code's timeout)
  6  the code raised / the shell command exited non-zero
  7  sandbox not Ready, expired, or failed to start`;

export function exitCodeOf(err: unknown): number {
  if (err instanceof ExecutionError) return ExitCode.ExecutionFailed;
  if (err instanceof TimeoutError) return ExitCode.Timeout;
  if (err instanceof UnauthorizedError || err instanceof ForbiddenError) return ExitCode.Auth;
  if (err instanceof SandboxNotFoundError) return ExitCode.NotFound;
  if (err instanceof SandboxNotReadyError || err instanceof SandboxExpiredError || err instanceof SandboxFailedError)
    return ExitCode.Unavailable;
  if (err instanceof InvalidRequestError || err instanceof UsageError || err instanceof TypeError) return ExitCode.Usage;
  return ExitCode.Error;
}

/** Bad command-line input found after parsing (e.g. both --file and code given). */
export class UsageError extends Error {
  override name = "UsageError";
}
