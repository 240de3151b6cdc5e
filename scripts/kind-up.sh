#!/usr/bin/env bash
# Creates a Kind cluster (kind-config.yaml) whose nodes run gVisor as the containerd runtime
# handler "runsc", with RuntimeClass "gvisor" (the operator's default for sandbox pods).
# For machines with Docker; nothing here is needed by the tests in this repository.
#
#   scripts/kind-up.sh [--install] [--no-smoke-test]
#     --install          also build the operator and runtime images (scripts/lib/build-images.sh, Debian
#                        host with mmdebstrap), load them into the nodes and helm-install the chart
#     --no-smoke-test    skip the gVisor check pod (it pulls busybox from Docker Hub)
#
# Environment:
#   KIND_CLUSTER_NAME   cluster name (default: agent-sandbox, as in kind-config.yaml)
#   KIND_NODE_IMAGE     kindest/node image to use (default: kind's own default)
#   GVISOR_RELEASE      gVisor release, e.g. 20250113.0 (default: latest)
#   GVISOR_CACHE        where downloaded gVisor binaries are kept (default: ~/.cache/agent-sandbox-ts)
#
# Facts this relies on (gVisor's containerd quick start and Kind's docs): runsc and
# containerd-shim-runsc-v1 are published per architecture under
# https://storage.googleapis.com/gvisor/releases/release/<release>/<uname -m>/ with .sha512 files;
# containerd selects the shim through runtime_type "io.containerd.runsc.v1" and finds the
# binary on PATH; Kind nodes are systemd containers where containerd can be restarted; the
# RuntimeClass handler must equal the containerd runtime name.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
NAME="${KIND_CLUSTER_NAME:-agent-sandbox}"
CONTEXT="kind-$NAME"
GVISOR_RELEASE="${GVISOR_RELEASE:-latest}"
GVISOR_CACHE="${GVISOR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/agent-sandbox-ts}"
INSTALL=false
SMOKE=true

log() { printf '[kind-up] %s\n' "$*" >&2; }
die() { printf '[kind-up] ERROR: %s\n' "$*" >&2; exit 1; }

for arg in "$@"; do
  case "$arg" in
    --install) INSTALL=true ;;
    --no-smoke-test) SMOKE=false ;;
    -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$arg' (see --help)" ;;
  esac
done

need() { command -v "$1" >/dev/null || die "'$1' is not on PATH ($2)"; }
need docker "https://docs.docker.com/engine/install/"
need kind "https://kind.sigs.k8s.io/docs/user/quick-start/#installation"
need kubectl "https://kubernetes.io/docs/tasks/tools/"
need curl "apt-get install curl"
need sha512sum "coreutils"
docker info >/dev/null 2>&1 || die "cannot talk to the Docker daemon (is it running, and may this user use it?)"

# 1. Cluster.
if kind get clusters 2>/dev/null | grep -qx "$NAME"; then
  log "cluster $NAME exists; reusing it"
else
  args=(create cluster --name "$NAME" --config "$REPO/kind-config.yaml" --wait 120s)
  [[ -n "${KIND_NODE_IMAGE:-}" ]] && args+=(--image "$KIND_NODE_IMAGE")
  log "creating cluster $NAME"
  kind "${args[@]}"
fi
mapfile -t NODES < <(kind get nodes --name "$NAME")
[[ ${#NODES[@]} -gt 0 ]] || die "kind reports no nodes for cluster $NAME"

# 2. gVisor binaries, downloaded once per release and architecture, checked against their sha512.
fetch_gvisor() {
  local arch="$1" dir="$GVISOR_CACHE/gvisor-$GVISOR_RELEASE-$1"
  if [[ "$GVISOR_RELEASE" != latest && -x "$dir/runsc" && -x "$dir/containerd-shim-runsc-v1" ]]; then
    echo "$dir"; return
  fi
  mkdir -p "$dir"
  local url="https://storage.googleapis.com/gvisor/releases/release/$GVISOR_RELEASE/$arch"
  log "downloading gVisor $GVISOR_RELEASE ($arch) from $url"
  (cd "$dir" &&
    for f in runsc containerd-shim-runsc-v1; do
      curl -fsSLo "$f" "$url/$f" && curl -fsSLo "$f.sha512" "$url/$f.sha512"
    done &&
    sha512sum -c runsc.sha512 -c containerd-shim-runsc-v1.sha512 >&2 &&
    chmod 0755 runsc containerd-shim-runsc-v1) || die "gVisor download or checksum failed ($url)"
  echo "$dir"
}

# 3. Per node: binaries into /usr/local/bin, the runsc runtime table into containerd's config.
configure_node() {
  local node="$1" arch bin version plugin
  arch="$(docker exec "$node" uname -m)"
  bin="$(fetch_gvisor "$arch")"
  docker cp "$bin/runsc" "$node:/usr/local/bin/runsc"
  docker cp "$bin/containerd-shim-runsc-v1" "$node:/usr/local/bin/containerd-shim-runsc-v1"
  docker exec "$node" chmod 0755 /usr/local/bin/runsc /usr/local/bin/containerd-shim-runsc-v1
  version="$(docker exec "$node" sh -c "sed -n 's/^version *= *\\([0-9]*\\).*/\\1/p' /etc/containerd/config.toml | head -n1")"
  case "$version" in
    3) plugin='io.containerd.cri.v1.runtime' ;;
    2|"") plugin='io.containerd.grpc.v1.cri' ;;
    *) die "$node: unsupported containerd config version '$version'" ;;
  esac
  if docker exec "$node" grep -q 'containerd.runtimes.runsc\]' /etc/containerd/config.toml; then
    log "$node: runsc handler already configured"
  else
    log "$node: adding the runsc handler (containerd config version ${version:-2}, plugin $plugin)"
    docker exec -i "$node" sh -c 'cat >> /etc/containerd/config.toml' <<TOML

# Added by agent-sandbox-ts scripts/kind-up.sh: gVisor as runtime handler "runsc".
[plugins."$plugin".containerd.runtimes.runsc]
  runtime_type = "io.containerd.runsc.v1"
  pod_annotations = ["dev.gvisor.spec.mount.*"]
TOML
    docker exec "$node" systemctl restart containerd
  fi
  for _ in $(seq 1 60); do
    if docker exec "$node" crictl info >/dev/null 2>&1; then break; fi
    sleep 1
  done
  docker exec "$node" crictl info 2>/dev/null | grep -q '"runsc"' ||
    die "$node: containerd does not report a runsc runtime after the restart (docker exec $node journalctl -u containerd)"
  docker exec "$node" /usr/local/bin/runsc --version | head -n1 | sed "s/^/[kind-up] $node: /" >&2
}
for node in "${NODES[@]}"; do configure_node "$node"; done

# 4. RuntimeClass gvisor -> handler runsc.
kubectl --context "$CONTEXT" apply -f - <<'YAML'
apiVersion: node.k8s.io/v1
kind: RuntimeClass
metadata:
  name: gvisor
handler: runsc
YAML
kubectl --context "$CONTEXT" wait --for=condition=Ready nodes --all --timeout=120s >/dev/null

# 5. Smoke test: under gVisor, dmesg prints gVisor's own boot messages, not the host kernel's.
if $SMOKE; then
  log "smoke test: a busybox pod under RuntimeClass gvisor"
  kubectl --context "$CONTEXT" delete pod gvisor-smoke --ignore-not-found --wait=true >/dev/null
  kubectl --context "$CONTEXT" run gvisor-smoke --image=busybox:1.36 --restart=Never \
    --overrides='{"apiVersion":"v1","spec":{"runtimeClassName":"gvisor"}}' --command -- dmesg >/dev/null
  phase=""
  for _ in $(seq 1 120); do
    phase="$(kubectl --context "$CONTEXT" get pod gvisor-smoke -o jsonpath='{.status.phase}' 2>/dev/null || true)"
    [[ "$phase" == Succeeded || "$phase" == Failed ]] && break
    sleep 1
  done
  out="$(kubectl --context "$CONTEXT" logs gvisor-smoke 2>/dev/null || true)"
  kubectl --context "$CONTEXT" delete pod gvisor-smoke --wait=false >/dev/null
  if [[ "$phase" == Succeeded ]] && grep -qi gvisor <<<"$out"; then
    log "smoke test passed: the pod ran under gVisor"
  else
    die "smoke test failed (phase '$phase'); dmesg said: ${out:0:300}"
  fi
fi

# 6. Optional: build, load and install agent-sandbox.
if $INSTALL; then
  need helm "https://helm.sh/docs/intro/install/ (or bash scripts/lib/build-cluster-tools.sh helm)"
  need npm "Node.js 22"
  log "building dist/ and the operator and runtime images"
  (cd "$REPO" && npm run build)
  while read -r ref archive; do
    log "loading $ref into $NAME"
    kind load image-archive "$archive" --name "$NAME"
  done < <(bash "$REPO/scripts/lib/build-images.sh" build operator runtime)
  log "installing the chart"
  helm --kube-context "$CONTEXT" upgrade --install agent-sandbox "$REPO/charts/agent-sandbox" \
    --namespace agent-sandbox-system --create-namespace \
    --set router.service.type=NodePort --set router.service.nodePort=30080 \
    --wait --timeout 5m
  log "router: http://127.0.0.1:8080 (NodePort 30080 mapped by kind-config.yaml)"
fi

log "done: kubectl --context $CONTEXT get runtimeclass gvisor"
