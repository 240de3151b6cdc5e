# Shared by the scripts that compile parts of upstream agent-sandbox's Go module
# (build-upstream-controller.sh, build-upstream-e2e.sh); sourced, not run. Sets CACHE_ROOT and
# UPSTREAM_VERSION, the Go build environment, and upstream_source_copy.

UPSTREAM_LIB="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE_ROOT="${SANDBOX_CACHE_DIR:-/var/cache/agent-sandbox-ts}"
UPSTREAM_VERSION="$(bash "$UPSTREAM_LIB/upstream-module.sh" version)"
export GOFLAGS="${GOFLAGS:-} -buildvcs=false"
export GOTOOLCHAIN="${GOTOOLCHAIN:-auto}"

# Downloads the module (once) and replaces WORK with a writable copy of it: the Go module cache
# is read-only, and go build/test want to write beside the sources.
upstream_source_copy() {
  local work="$1"
  bash "$UPSTREAM_LIB/upstream-module.sh" download
  local src; src="$(bash "$UPSTREAM_LIB/upstream-module.sh" dir)"
  log "unpacking $src into $work"
  rm -rf "$work"; mkdir -p "$(dirname "$work")"
  cp -r "$src" "$work"; chmod -R u+w "$work"
}
