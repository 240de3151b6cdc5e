# Sourced, not run. Writes the go.mod of a wrapper module that builds parts of k8s.io/kubernetes
# from the Go module proxy. Why a wrapper: k8s.io/kubernetes requires its staging modules at
# v0.0.0 and only its own go.mod replaces them, so `go install k8s.io/kubernetes/...@v` cannot
# work; the wrapper pins each staging module to the release that matches K8S_VERSION.

K8S_MODULE_LIB="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

K8S_STAGING_MODULES=(api apiextensions-apiserver apimachinery apiserver cli-runtime client-go cloud-provider
  cluster-bootstrap code-generator component-base component-helpers controller-manager cri-api cri-client
  csi-translation-lib dynamic-resource-allocation endpointslice externaljwt kms kube-aggregator
  kube-controller-manager kube-proxy kube-scheduler kubectl kubelet metrics mount-utils
  pod-security-admission sample-apiserver)

# k8s_wrapper_gomod MODULE_NAME K8S_VERSION [TOOL_PACKAGE...] : prints the go.mod
k8s_wrapper_gomod() {
  local name="$1" version="$2"; shift 2
  local staging="v0.${version#v1.}"
  echo "module $name"
  echo "go 1.24"
  echo "godebug default=go1.23"
  echo "require k8s.io/kubernetes $version"
  echo "replace ("
  local m; for m in "${K8S_STAGING_MODULES[@]}"; do echo "  k8s.io/$m => k8s.io/$m $staging"; done
  echo ")"
  if [[ $# -gt 0 ]]; then
    echo "tool ("
    local t; for t in "$@"; do echo "  $t"; done
    echo ")"
  fi
}

# k8s_version_ldflags K8S_VERSION : -X flags that make the binaries report the release they are
k8s_version_ldflags() {
  local version="$1" minor="${1#v1.}"; minor="${minor%%.*}"
  local ldf="" pkg
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldf+=" -X $pkg.gitVersion=$version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    ldf+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  echo "$ldf"
}

# k8s_cluster_version : K8S_VERSION when set, otherwise the version build-go-tools.sh builds (the
# cluster's), so parts built elsewhere match the control plane; fails when it cannot tell.
k8s_cluster_version() {
  if [[ -n "${K8S_VERSION:-}" ]]; then echo "$K8S_VERSION"; return; fi
  local v
  v="$(bash "$K8S_MODULE_LIB/build-go-tools.sh" paths | sed -n 's|^K8S_BIN=.*/kubernetes-\(v[^/]*\)/bin$|\1|p')"
  [[ -n "$v" ]] || { echo "cannot tell the Kubernetes version from build-go-tools.sh paths" >&2; return 1; }
  echo "$v"
}
