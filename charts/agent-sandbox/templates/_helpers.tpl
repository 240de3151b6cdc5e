{{/* Chart name, truncated to the 63 characters a label value allows. */}}
{{- define "agent-sandbox.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Prefix of every object name: the release name, unless it already contains the chart name. */}}
{{- define "agent-sandbox.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "agent-sandbox.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "agent-sandbox.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: agent-sandbox
{{- end -}}

{{/* Upstream agent-sandbox's names, so its clients, docs and e2e suite find the pieces:
the controller Deployment agent-sandbox-controller and the router Service sandbox-router-svc
(with the default release name agent-sandbox). */}}
{{- define "agent-sandbox.operator.name" -}}{{ include "agent-sandbox.fullname" . }}-controller{{- end -}}
{{- define "agent-sandbox.router.name" -}}{{ include "agent-sandbox.fullname" . }}-router{{- end -}}
{{- define "agent-sandbox.router.serviceName" -}}{{ default "sandbox-router-svc" .Values.router.service.name }}{{- end -}}

{{- define "agent-sandbox.operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "agent-sandbox.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end -}}

{{- define "agent-sandbox.router.selectorLabels" -}}
app.kubernetes.io/name: {{ include "agent-sandbox.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: router
{{- end -}}

{{- define "agent-sandbox.operator.serviceAccountName" -}}
{{- default (include "agent-sandbox.operator.name" .) .Values.operator.serviceAccount.name -}}
{{- end -}}

{{- define "agent-sandbox.router.serviceAccountName" -}}
{{- default (include "agent-sandbox.router.name" .) .Values.router.serviceAccount.name -}}
{{- end -}}

{{- define "agent-sandbox.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{- define "agent-sandbox.execdImage" -}}
{{- printf "%s:%s" .Values.execd.image.repository (default .Chart.AppVersion .Values.execd.image.tag) -}}
{{- end -}}

{{/* A map rendered as the operator's "k=v,k=v" flag syntax, keys sorted. */}}
{{- define "agent-sandbox.keyValues" -}}
{{- $pairs := list -}}
{{- range $k, $v := . -}}
{{- $pairs = append $pairs (printf "%s=%v" $k $v) -}}
{{- end -}}
{{- join "," $pairs -}}
{{- end -}}

{{/* Hardening shared by the operator and the router: non-root, no privilege escalation, no
capabilities, read-only root filesystem (writable /tmp comes from an emptyDir). */}}
{{- define "agent-sandbox.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
# Mounted Secrets (the router's signing key, 0440) are then readable by this group, not by others.
fsGroup: 65532
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "agent-sandbox.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
privileged: false
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "agent-sandbox.execdTokenKeySecret" -}}
{{- default (printf "%s-execd-token-key" (include "agent-sandbox.fullname" .)) .Values.execd.tokenKey.existingSecret -}}
{{- end -}}

{{- define "agent-sandbox.execdEnvKeySecret" -}}
{{- default (printf "%s-execd-env-key" (include "agent-sandbox.fullname" .)) .Values.execd.envKey.existingSecret -}}
{{- end -}}

{{- define "agent-sandbox.router.signingKeySecret" -}}
{{- default (printf "%s-signing-key" (include "agent-sandbox.router.name" .)) .Values.router.signingKey.existingSecret -}}
{{- end -}}
