#!/usr/bin/env bash
# Builds upstream agent-sandbox's controller (cmd/agent-sandbox-controller) from the Go module
# proxy, once per upstream version, into
# /var/cache/agent-sandbox-ts/upstream-controller-<version>-r<recipe>/bin. The `upstream`
# benchmark runs it as a host process beside this project's operator to compare the two on the
# same cluster. Nothing from the module is copied into the repository: it is unpacked into a
# build directory under the cache, because the Go module cache is read-only.
#
#   build-upstream-controller.sh build    compile it if missing (first run: a few minutes)
#   build-upstream-controller.sh paths    print UPSTREAM_CONTROLLER=, UPSTREAM_VERSION=
set -euo pipefail

# shellcheck source=upstream-build.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/upstream-build.sh"

# Bump when the way the binary is built changes, so an old cache entry is not reused.
RECIPE=1

log() { printf '[build-upstream-controller] %s\n' "$*" >&2; }

out_dir() { echo "$CACHE_ROOT/upstream-controller-$UPSTREAM_VERSION-r$RECIPE"; }
binary() { echo "$(out_dir)/bin/agent-sandbox-controller"; }

build() {
  if [[ -x "$(binary)" ]]; then log "upstream $UPSTREAM_VERSION controller cached in $(binary)"; return; fi
  local work; work="$(out_dir)/src"
  mkdir -p "$(out_dir)/bin"
  upstream_source_copy "$work"
  log "compiling ./cmd/agent-sandbox-controller (first run only; a few minutes on 2 cores)"
  # Static and stripped, as upstream's Dockerfile builds it; the .tmp + mv keeps an interrupted
  # build from leaving a binary that looks cached.
  (cd "$work" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$(binary).tmp" ./cmd/agent-sandbox-controller)
  mv "$(binary).tmp" "$(binary)"
  log "upstream controller in $(binary)"
}

paths() {
  echo "UPSTREAM_CONTROLLER=$(binary)"
  echo "UPSTREAM_VERSION=$UPSTREAM_VERSION"
}

case "${1:-build}" in
  build) build ;;
  paths) paths ;;
  *) echo "usage: $0 [build|paths]" >&2; exit 2 ;;
esac
