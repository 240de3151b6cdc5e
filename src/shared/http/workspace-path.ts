// A workspace path as it goes into a `/v1/files/{path}` URL.

/**
 * Percent-encodes each segment of a workspace path and drops leading slashes, so a name with
 * spaces, `#` or `?` stays one path and `a/b` stays two segments.
 */
export function encodeWorkspacePath(path: string): string {
  return path.replace(/^\/+/, "").split("/").map(encodeURIComponent).join("/");
}
