#!/usr/bin/env bash
# Certificates for the local cluster, made with openssl. One CA signs every serving and
# client certificate; client identities follow the Kubernetes conventions (CN = user,
# O = groups), so Node+RBAC authorization and the kubelet's webhook auth work as they do
# on kubeadm clusters. Sourced by cluster.sh; needs PKI_DIR, NODE_NAME, NODE_IP, API_SERVICE_IP.

pki_cert() { # name CN O(or "") kind(server|client) SANs(comma list or "")
  local name="$1" cn="$2" org="$3" kind="$4" sans="$5"
  [[ -s "$PKI_DIR/$name.crt" && -s "$PKI_DIR/$name.key" ]] && return 0
  local subj="/CN=$cn"; [[ -n "$org" ]] && subj="/O=$org$subj"
  local ext="$PKI_DIR/$name.ext"
  {
    echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    if [[ "$kind" == server ]]; then echo "extendedKeyUsage=serverAuth,clientAuth"; else echo "extendedKeyUsage=clientAuth"; fi
    [[ -n "$sans" ]] && echo "subjectAltName=$sans"
  } > "$ext"
  openssl genrsa -out "$PKI_DIR/$name.key" 2048 2>/dev/null
  openssl req -new -key "$PKI_DIR/$name.key" -subj "$subj" -out "$PKI_DIR/$name.csr" 2>/dev/null
  openssl x509 -req -in "$PKI_DIR/$name.csr" -CA "$PKI_DIR/ca.crt" -CAkey "$PKI_DIR/ca.key" -CAcreateserial \
    -days 3650 -sha256 -extfile "$ext" -out "$PKI_DIR/$name.crt" 2>/dev/null
  rm -f "$PKI_DIR/$name.csr" "$ext"
  chmod 600 "$PKI_DIR/$name.key"
}

pki_ensure() {
  mkdir -p "$PKI_DIR"; chmod 700 "$PKI_DIR"
  if [[ ! -s "$PKI_DIR/ca.crt" ]]; then
    openssl genrsa -out "$PKI_DIR/ca.key" 2048 2>/dev/null
    openssl req -x509 -new -key "$PKI_DIR/ca.key" -subj "/CN=agent-sandbox-local-ca" -days 3650 -sha256 \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" \
      -out "$PKI_DIR/ca.crt" 2>/dev/null
    chmod 600 "$PKI_DIR/ca.key"
  fi
  # Service-account token signing key: one RSA key, public half verifies.
  if [[ ! -s "$PKI_DIR/sa.key" ]]; then
    openssl genrsa -out "$PKI_DIR/sa.key" 2048 2>/dev/null
    openssl rsa -in "$PKI_DIR/sa.key" -pubout -out "$PKI_DIR/sa.pub" 2>/dev/null
    chmod 600 "$PKI_DIR/sa.key"
  fi
  local api_sans="DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
  api_sans+=",DNS:localhost,DNS:$NODE_NAME,IP:127.0.0.1,IP:$NODE_IP,IP:$API_SERVICE_IP"
  pki_cert apiserver kube-apiserver "" server "$api_sans"
  pki_cert apiserver-kubelet-client kube-apiserver-kubelet-client system:masters client ""
  pki_cert admin admin system:masters client ""
  pki_cert controller-manager system:kube-controller-manager "" client ""
  pki_cert scheduler system:kube-scheduler "" client ""
  pki_cert kubelet-client "system:node:$NODE_NAME" system:nodes client ""
  pki_cert kubelet-serving "$NODE_NAME" "" server "DNS:$NODE_NAME,DNS:localhost,IP:$NODE_IP,IP:127.0.0.1"
  pki_cert kube-proxy system:kube-proxy "" client ""
  pki_cert netpol agent-sandbox:netpol-enforcer "" client ""
}

# kubeconfig NAME USER-CERT-NAME -> writes (via cluster.sh's put, only when changed) $CONF_DIR/NAME.kubeconfig with embedded credentials
write_kubeconfig() {
  local name="$1" cert="$2" server="${3:-https://127.0.0.1:6443}"
  local out="$CONF_DIR/$name.kubeconfig"
  put "$out" 0600 <<EOF
apiVersion: v1
kind: Config
# agent-sandbox-local: written by scripts/cluster.sh
clusters:
- name: agent-sandbox-local
  cluster:
    server: $server
    certificate-authority-data: $(base64 -w0 < "$PKI_DIR/ca.crt")
users:
- name: $cert
  user:
    client-certificate-data: $(base64 -w0 < "$PKI_DIR/$cert.crt")
    client-key-data: $(base64 -w0 < "$PKI_DIR/$cert.key")
contexts:
- name: agent-sandbox-local
  context: {cluster: agent-sandbox-local, user: $cert}
current-context: agent-sandbox-local
EOF
}
