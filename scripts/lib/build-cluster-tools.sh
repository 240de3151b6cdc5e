#!/usr/bin/env bash
# Builds the node-side Go components of the local cluster from the Go module proxy, once,
# into /var/cache/agent-sandbox-ts/<name>-<version>/bin: gVisor (runsc + containerd shim),
# CoreDNS, helm, kube-proxy and the pause binary. The control plane, kubelet and etcd come
# from build-go-tools.sh.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/k8s-module.sh"
CACHE_ROOT="${SANDBOX_CACHE_DIR:-/var/cache/agent-sandbox-ts}"
# kube-proxy must match the control plane that build-go-tools.sh builds.
K8S_VERSION="$(k8s_cluster_version)"
# gVisor go-branch snapshot of 2026-02-24. Why this one: from 2026-05-19 on, the go branch's
# shim links containerd/v2 and answers containerd with JSON bootstrap params, which Debian's
# containerd 1.6 cannot parse; this snapshot still links github.com/containerd/containerd v1.6.36
# (checked by verify_gvisor below) and is served by the module proxy.
GVISOR_VERSION="${GVISOR_VERSION:-v0.0.0-20260224225140-573d5e7127a8}"
# The gVisor go branch is generated for the Go release named in its go.mod (1.25.x); it reaches
# into runtime internals, so build it with exactly that toolchain (fetched via the module proxy).
GVISOR_TOOLCHAIN="${GVISOR_TOOLCHAIN:-go1.25.5}"
COREDNS_VERSION="${COREDNS_VERSION:-v1.11.4}"
HELM_VERSION="${HELM_VERSION:-v3.16.4}"
PAUSE_VERSION="${PAUSE_VERSION:-3.6}"
export GOFLAGS="${GOFLAGS:-} -buildvcs=false"
export GOTOOLCHAIN="${GOTOOLCHAIN:-auto}"

log() { printf '[build-cluster-tools] %s\n' "$*" >&2; }

GVISOR_PATCH="$HERE/cluster/gvisor-oom-score.patch"
gvisor_dir() { echo "$CACHE_ROOT/gvisor-$GVISOR_VERSION-$(sha256sum "$GVISOR_PATCH" | cut -c1-8)/bin"; }
coredns_dir() { echo "$CACHE_ROOT/coredns-$COREDNS_VERSION/bin"; }
helm_dir() { echo "$CACHE_ROOT/helm-$HELM_VERSION/bin"; }
kube_proxy_dir() { echo "$CACHE_ROOT/kube-proxy-$K8S_VERSION/bin"; }
pause_dir() { echo "$CACHE_ROOT/pause-$PAUSE_VERSION/bin"; }

verify_gvisor() {
  local shim="$1/containerd-shim-runsc-v1"
  if go version -m "$shim" | grep -q 'github.com/containerd/containerd/v2'; then
    log "ERROR: $shim links containerd/v2; it cannot talk to containerd 1.6"; return 1
  fi
  go version -m "$shim" | grep -q 'github.com/containerd/containerd[[:space:]]*v1\.6\.' ||
    { log "ERROR: $shim does not link containerd v1.6.x"; return 1; }
}

build_gvisor() {
  local out; out="$(gvisor_dir)"
  if [[ -x "$out/runsc" && -x "$out/containerd-shim-runsc-v1" ]]; then log "gvisor cached in $out"; return; fi
  local mod; mod="$(dirname "$out")/module"
  rm -rf "$mod"; mkdir -p "$mod" "$out"
  log "building gvisor runsc + containerd-shim-runsc-v1 $GVISOR_VERSION with $GVISOR_TOOLCHAIN (first run only; ~5-20 min)"
  # The pinned source from the module proxy plus one small patch (see the patch's header).
  (cd "$mod" && export GOTOOLCHAIN="$GVISOR_TOOLCHAIN" &&
    printf 'module local.build/gvisorsrc\ngo 1.25.5\n' > go.mod &&
    go mod download -json "gvisor.dev/gvisor@$GVISOR_VERSION" > download.json)
  local src; src="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["Dir"])' "$mod/download.json")"
  cp -r "$src" "$mod/gvisor"; chmod -R u+w "$mod/gvisor"
  patch -d "$mod/gvisor" -p1 --forward < "$GVISOR_PATCH" >&2
  cat > "$mod/go.mod" <<MOD
module local.build/gvisorbins
go 1.25.5
require gvisor.dev/gvisor $GVISOR_VERSION
replace gvisor.dev/gvisor => ./gvisor
MOD
  (cd "$mod" && export GOTOOLCHAIN="$GVISOR_TOOLCHAIN" GOFLAGS="$GOFLAGS -mod=mod" &&
    CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$out/runsc.tmp" gvisor.dev/gvisor/runsc &&
    CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$out/containerd-shim-runsc-v1.tmp" gvisor.dev/gvisor/shim)
  mv "$out/runsc.tmp" "$out/runsc"; mv "$out/containerd-shim-runsc-v1.tmp" "$out/containerd-shim-runsc-v1"
  verify_gvisor "$out"
  log "gvisor in $out"
}

build_coredns() {
  local out; out="$(coredns_dir)"
  if [[ -x "$out/coredns" ]]; then log "coredns cached in $out"; return; fi
  mkdir -p "$out"
  log "building coredns $COREDNS_VERSION"
  GOBIN="$out" CGO_ENABLED=0 go install -trimpath -ldflags "-s -w" "github.com/coredns/coredns@$COREDNS_VERSION"
}

build_helm() {
  local out; out="$(helm_dir)"
  if [[ -x "$out/helm" ]]; then log "helm cached in $out"; return; fi
  mkdir -p "$out"
  log "building helm $HELM_VERSION"
  GOBIN="$out" CGO_ENABLED=0 go install -trimpath \
    -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
}

# kube-proxy gives ClusterIP Services (kubernetes.default, kube-dns) a data path; it is built
# in its own wrapper module (k8s-module.sh) like the control plane, so the shared
# GOCACHE makes it cheap once the control plane is built.
build_kube_proxy() {
  local out; out="$(kube_proxy_dir)"
  if [[ -x "$out/kube-proxy" ]]; then log "kube-proxy cached in $out"; return; fi
  local mod="$CACHE_ROOT/kube-proxy-$K8S_VERSION/module"
  mkdir -p "$mod" "$out"
  k8s_wrapper_gomod local.build/kubeproxy "$K8S_VERSION" k8s.io/kubernetes/cmd/kube-proxy > "$mod/go.mod"
  local ldf="-s -w $(k8s_version_ldflags "$K8S_VERSION")"
  log "building kube-proxy $K8S_VERSION"
  (cd "$mod" && go mod tidy &&
    CGO_ENABLED=0 go build -trimpath -tags selinux,notest -ldflags "$ldf" -o "$out/" k8s.io/kubernetes/cmd/kube-proxy)
}

build_pause() {
  local out; out="$(pause_dir)"
  if [[ -x "$out/pause" ]]; then log "pause cached in $out"; return; fi
  mkdir -p "$out"
  (cd "$HERE/cluster/pause" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$out/pause" .)
  log "pause in $out"
}

case "${1:-all}" in
  gvisor) build_gvisor ;;
  coredns) build_coredns ;;
  helm) build_helm ;;
  kube-proxy) build_kube_proxy ;;
  pause) build_pause ;;
  all) build_pause; build_gvisor; build_coredns; build_helm; build_kube_proxy ;;
  paths)
    echo "GVISOR_BIN=$(gvisor_dir)"; echo "COREDNS_BIN=$(coredns_dir)"; echo "HELM_BIN=$(helm_dir)"
    echo "KUBE_PROXY_BIN=$(kube_proxy_dir)"; echo "PAUSE_BIN=$(pause_dir)"; echo "PAUSE_VERSION=$PAUSE_VERSION" ;;
  *) echo "usage: $0 [all|gvisor|coredns|helm|kube-proxy|pause|paths]" >&2; exit 2 ;;
esac
