#!/usr/bin/env bash
# Builds the upstream Go components the project runs (Kubernetes control plane and node,
# etcd, kwok) from the Go module proxy, once, into a cache keyed by version.
set -euo pipefail
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/k8s-module.sh"

# v1.32.5 is the newest 1.32 patch whose every staging module the Go module proxy serves
# here (v0.32.8+ of endpointslice, cri-client and others answer 403 "not available").
K8S_VERSION="${K8S_VERSION:-v1.32.5}"
ETCD_VERSION="${ETCD_VERSION:-v3.5.16}"
KWOK_VERSION="${KWOK_VERSION:-v0.7.0}"
CACHE_ROOT="${SANDBOX_CACHE_DIR:-/var/cache/agent-sandbox-ts}"
export GOFLAGS="${GOFLAGS:-} -buildvcs=false"
export GOTOOLCHAIN="${GOTOOLCHAIN:-auto}"

log() { printf '[build-go-tools] %s\n' "$*" >&2; }

k8s_bin_dir() { echo "$CACHE_ROOT/kubernetes-$K8S_VERSION/bin"; }
etcd_bin_dir() { echo "$CACHE_ROOT/etcd-$ETCD_VERSION/bin"; }
kwok_bin_dir() { echo "$CACHE_ROOT/kwok-$KWOK_VERSION/bin"; }

build_kubernetes() {
  local out; out="$(k8s_bin_dir)"
  local wanted=(kube-apiserver kube-controller-manager kube-scheduler kubelet kubectl)
  local missing=0
  for b in "${wanted[@]}"; do [[ -x "$out/$b" ]] || missing=1; done
  if [[ $missing == 0 ]]; then log "kubernetes $K8S_VERSION cached in $out"; return; fi
  local mod="$CACHE_ROOT/kubernetes-$K8S_VERSION/module"
  mkdir -p "$mod" "$out"
  local tools=(); for b in "${wanted[@]}"; do tools+=("k8s.io/kubernetes/cmd/$b"); done
  k8s_wrapper_gomod local.build/k8sbins "$K8S_VERSION" "${tools[@]}" > "$mod/go.mod"
  log "resolving kubernetes $K8S_VERSION module graph"
  (cd "$mod" && go mod tidy)
  local ldf="-s -w $(k8s_version_ldflags "$K8S_VERSION")"
  log "building ${wanted[*]} (first run only; 15-40 min on 2 cores)"
  (cd "$mod" && CGO_ENABLED=0 go build -trimpath -tags selinux,notest -ldflags "$ldf" -o "$out/" "${tools[@]}")
  log "kubernetes binaries in $out"
}

build_etcd() {
  local out; out="$(etcd_bin_dir)"
  if [[ -x "$out/etcd" ]]; then log "etcd $ETCD_VERSION cached in $out"; return; fi
  local mod="$CACHE_ROOT/etcd-$ETCD_VERSION/module"
  mkdir -p "$mod" "$out"
  cat > "$mod/go.mod" <<MOD
module local.build/etcdbin
go 1.24
require go.etcd.io/etcd/server/v3 $ETCD_VERSION
tool go.etcd.io/etcd/server/v3
MOD
  (cd "$mod" && go mod tidy && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$out/etcd" go.etcd.io/etcd/server/v3)
  log "etcd in $out"
}

build_kwok() {
  local out; out="$(kwok_bin_dir)"
  if [[ -x "$out/kwok" ]]; then log "kwok $KWOK_VERSION cached in $out"; return; fi
  mkdir -p "$out"
  GOBIN="$out" CGO_ENABLED=0 go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
  log "kwok in $out"
}

case "${1:-all}" in
  kubernetes) build_kubernetes ;;
  etcd) build_etcd ;;
  kwok) build_kwok ;;
  all) build_etcd; build_kwok; build_kubernetes ;;
  paths) echo "K8S_BIN=$(k8s_bin_dir)"; echo "ETCD_BIN=$(etcd_bin_dir)"; echo "KWOK_BIN=$(kwok_bin_dir)" ;;
  *) echo "usage: $0 [all|kubernetes|etcd|kwok|paths]" >&2; exit 2 ;;
esac
