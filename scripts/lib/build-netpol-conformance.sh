#!/usr/bin/env bash
# Builds what the NetworkPolicy conformance run (test/netpol-conformance) needs, once, into
# caches keyed by version:
#   - Kubernetes' own NetworkPolicy e2e tests (k8s.io/kubernetes/test/e2e/network/netpol at the
#     cluster's Kubernetes version), linked into one test binary with only the e2e framework;
#   - agnhost, the server and probe those tests run in every pod, from the same source tree;
#   - kube-router, a real NetworkPolicy enforcer (iptables + ipset) to compare ours against.
#
#   build-netpol-conformance.sh [all|e2e|kube-router|paths]
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
source "$HERE/k8s-module.sh"
CACHE_ROOT="${SANDBOX_CACHE_DIR:-/var/cache/agent-sandbox-ts}"
K8S_VERSION="$(k8s_cluster_version)"
# v2.1.0 is the only kube-router release the Go module proxy serves here. It is used on the
# local test cluster only, to compare enforcers; nothing ships with it.
KUBE_ROUTER_VERSION="${KUBE_ROUTER_VERSION:-v2.1.0}"
SUITE_SRC="$REPO/test/netpol-conformance/go"
SUITE_KEY="$(cat "$SUITE_SRC"/*.go | sha256sum | cut -c1-8)"
export GOFLAGS="${GOFLAGS:-} -buildvcs=false"
export GOTOOLCHAIN="${GOTOOLCHAIN:-auto}"

log() { printf '[build-netpol-conformance] %s\n' "$*" >&2; }

e2e_dir() { echo "$CACHE_ROOT/netpol-e2e-$K8S_VERSION-$SUITE_KEY/bin"; }
kube_router_dir() { echo "$CACHE_ROOT/kube-router-$KUBE_ROUTER_VERSION/bin"; }

build_e2e() {
  local out; out="$(e2e_dir)"
  if [[ -x "$out/netpol.test" && -x "$out/agnhost" ]]; then log "netpol e2e tests and agnhost cached in $out"; return; fi
  local mod="$CACHE_ROOT/netpol-e2e-$K8S_VERSION-$SUITE_KEY/module"
  rm -rf "$mod"; mkdir -p "$mod" "$out"
  cp "$SUITE_SRC"/*.go "$mod/"
  k8s_wrapper_gomod local.build/netpolconformance "$K8S_VERSION" k8s.io/kubernetes/test/images/agnhost > "$mod/go.mod"
  log "resolving the e2e framework's module graph at kubernetes $K8S_VERSION"
  (cd "$mod" && go mod tidy)
  log "building agnhost and the netpol e2e test binary (first run only; several minutes on 2 cores)"
  (cd "$mod" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$out/agnhost" k8s.io/kubernetes/test/images/agnhost)
  (cd "$mod" && CGO_ENABLED=0 go test -c -trimpath -ldflags "-s -w $(k8s_version_ldflags "$K8S_VERSION")" -o "$out/netpol.test" .)
  log "netpol e2e tests and agnhost in $out"
}

build_kube_router() {
  local out; out="$(kube_router_dir)"
  if [[ -x "$out/kube-router" ]]; then log "kube-router $KUBE_ROUTER_VERSION cached in $out"; return; fi
  mkdir -p "$out"
  log "building kube-router $KUBE_ROUTER_VERSION (first run only)"
  GOBIN="$out" CGO_ENABLED=0 go install -trimpath -ldflags "-s -w" \
    "github.com/cloudnativelabs/kube-router/v2/cmd/kube-router@$KUBE_ROUTER_VERSION"
  log "kube-router in $out"
}

case "${1:-all}" in
  e2e) build_e2e ;;
  kube-router) build_kube_router ;;
  all) build_e2e; build_kube_router ;;
  paths)
    echo "NETPOL_E2E_BIN=$(e2e_dir)"; echo "KUBE_ROUTER_BIN=$(kube_router_dir)"; echo "KUBE_ROUTER_VERSION=$KUBE_ROUTER_VERSION"
    echo "K8S_VERSION=$K8S_VERSION"; echo "K8S_SOURCE=$(go env GOMODCACHE)/k8s.io/kubernetes@$K8S_VERSION" ;;
  *) echo "usage: $0 [all|e2e|kube-router|paths]" >&2; exit 2 ;;
esac
