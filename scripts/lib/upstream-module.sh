#!/usr/bin/env bash
# Fetches the upstream agent-sandbox Go module (the API this project reimplements) from the Go
# module proxy into the Go module cache. Nothing from it is copied into the repository; whoever
# needs it reads it from the module cache (test/unit/api/upstream-superset.test.ts, for one, checks
# that our CRDs accept every manifest upstream's k8s/crds/*.yaml accept).
#
#   upstream-module.sh download   fetch the module (once; the Go module cache keeps it)
#   upstream-module.sh dir        print the module's directory; fails if it is not downloaded
#   upstream-module.sh version    print the upstream version the project tracks
set -euo pipefail

# The one place the tracked upstream version is written down.
UPSTREAM_MODULE="sigs.k8s.io/agent-sandbox"
UPSTREAM_VERSION="${UPSTREAM_VERSION:-v1.0.1}"
export GOTOOLCHAIN="${GOTOOLCHAIN:-auto}"

log() { printf '[upstream-module] %s\n' "$*" >&2; }

# `go mod download -json` prints the module's Dir; the sed avoids needing jq. It runs from / so a
# go.mod in the caller's directory cannot change what go resolves.
module_json() { (cd / && go mod download -json "$UPSTREAM_MODULE@$UPSTREAM_VERSION"); }
dir_of() { sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p' | head -n1; }

download() {
  local dir; dir="$(module_json | dir_of)"
  [[ -n "$dir" && -d "$dir" ]] || { log "go mod download printed no directory for $UPSTREAM_MODULE@$UPSTREAM_VERSION"; exit 1; }
  log "$UPSTREAM_MODULE@$UPSTREAM_VERSION in $dir"
}

# Offline: GOPROXY=off makes go answer from the module cache only, so `dir` never reaches the
# network (the unit tests call it) and fails fast when the module was never downloaded.
print_dir() {
  local dir
  dir="$(GOPROXY=off module_json 2>/dev/null | dir_of || true)"
  if [[ -z "$dir" || ! -d "$dir" ]]; then
    log "$UPSTREAM_MODULE@$UPSTREAM_VERSION is not in the Go module cache; run: bash scripts/setup.sh"
    exit 1
  fi
  echo "$dir"
}

case "${1:-download}" in
  download) download ;;
  dir) print_dir ;;
  version) echo "$UPSTREAM_VERSION" ;;
  *) echo "usage: $0 [download|dir|version]" >&2; exit 2 ;;
esac
