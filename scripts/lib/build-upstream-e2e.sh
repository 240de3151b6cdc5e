#!/usr/bin/env bash
# Builds upstream agent-sandbox's own end-to-end test binaries from the Go module proxy, once
# per upstream version, into /var/cache/agent-sandbox-ts/upstream-e2e-<version>-r<recipe>/bin.
# The conformance tier (test/conformance) runs them against this project's operator. Nothing
# from the module is copied into the repository: it is unpacked into a build directory under
# the cache, because the Go module cache is read-only.
#
#   build-upstream-e2e.sh build    compile what is missing (first run: several minutes)
#   build-upstream-e2e.sh paths    print E2E_TEST=, EXTENSIONS_TEST=, UPSTREAM_DIR=, UPSTREAM_VERSION=
set -euo pipefail

# shellcheck source=upstream-build.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/upstream-build.sh"

# Bump when the way the binaries are built changes, so an old cache entry is not reused.
RECIPE=1

log() { printf '[build-upstream-e2e] %s\n' "$*" >&2; }

out_dir() { echo "$CACHE_ROOT/upstream-e2e-$UPSTREAM_VERSION-r$RECIPE"; }
bin_dir() { echo "$(out_dir)/bin"; }

# The test packages: upstream's core e2e suite and its extensions suite (both import the shared
# framework in test/e2e/framework). Output name = last path element + ".test".
packages=(./test/e2e ./test/e2e/extensions)

all_built() {
  local b; b="$(bin_dir)"
  [[ -x "$b/e2e.test" && -x "$b/extensions.test" ]]
}

build() {
  if all_built; then log "upstream $UPSTREAM_VERSION e2e binaries cached in $(bin_dir)"; return; fi
  local work; work="$(out_dir)/src"
  local bin; bin="$(bin_dir)"
  mkdir -p "$bin"
  upstream_source_copy "$work"
  log "compiling ${packages[*]} with go test -c (first run only; 5-15 min on 2 cores)"
  local p name
  for p in "${packages[@]}"; do
    name="$(basename "$p").test"
    (cd "$work" && go test -c -o "$bin/$name.tmp" "$p")
    mv "$bin/$name.tmp" "$bin/$name"
  done
  log "upstream e2e binaries in $bin"
}

paths() {
  local b; b="$(bin_dir)"
  echo "E2E_TEST=$b/e2e.test"
  echo "EXTENSIONS_TEST=$b/extensions.test"
  # Upstream's sources as compiled (the runner reads the test sources from here).
  echo "UPSTREAM_DIR=$(out_dir)/src"
  echo "UPSTREAM_VERSION=$UPSTREAM_VERSION"
}

case "${1:-build}" in
  build) build ;;
  paths) paths ;;
  *) echo "usage: $0 [build|paths]" >&2; exit 2 ;;
esac
