{{/* Names, labels and the settings every template shares. */}}

{{- define "apiway.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* `<release>-apiway`, or the release name when it already says apiway. */}}
{{- define "apiway.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := include "apiway.name" . -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* A name that must stay whole (a Service name is a DNS label): fails instead of cutting it. */}}
{{- define "apiway.checkedName" -}}
{{- if gt (len .) 63 -}}
{{- fail (printf "the object name %q is longer than 63 characters: shorten the release name, fullnameOverride or the environment name" .) -}}
{{- end -}}
{{- . -}}
{{- end -}}

{{- define "apiway.operatorName" -}}
{{- include "apiway.checkedName" (printf "%s-operator" (include "apiway.fullname" .)) -}}
{{- end -}}

{{- define "apiway.operatorServiceAccount" -}}
{{- default (include "apiway.operatorName" .) .Values.operator.serviceAccount.name -}}
{{- end -}}

{{/* (dict "root" $ "env" "alpha") → `<fullname>-gateway-alpha` */}}
{{- define "apiway.gatewayName" -}}
{{- include "apiway.checkedName" (printf "%s-gateway-%s" (include "apiway.fullname" .root) .env) -}}
{{- end -}}

{{- define "apiway.redisName" -}}
{{- include "apiway.checkedName" (printf "%s-redis" (include "apiway.fullname" .)) -}}
{{- end -}}

{{/* Kubernetes recommended labels. (dict "root" $ "component" "gateway") */}}
{{- define "apiway.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
{{ include "apiway.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/part-of: apiway
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
{{- with .root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Immutable in Deployments: never add to these. */}}
{{- define "apiway.selectorLabels" -}}
app.kubernetes.io/name: {{ include "apiway.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- with .env }}
apiway.net/environment: {{ . }}
{{- end }}
{{- end -}}

{{- define "apiway.image" -}}
{{- $image := .Values.image -}}
{{- if $image.digest -}}
{{- printf "%s@%s" $image.repository $image.digest -}}
{{- else -}}
{{- printf "%s:%s" $image.repository (default .Chart.AppVersion $image.tag) -}}
{{- end -}}
{{- end -}}

{{/*
A per-environment setting: the environment's own value when it has the key, else the
gateway-wide default. Whole values, never merged, so `autoscaling: {enabled: false}` in an
environment means exactly that. (dict "root" $ "env" $env) → a dict of every setting.
*/}}
{{- define "apiway.gatewaySettings" -}}
{{- $settings := dict -}}
{{- range $key := list "replicas" "rateLimitReplicas" "resources" "autoscaling" "podDisruptionBudget" "service" "nodeSelector" "tolerations" "affinity" "podAnnotations" "extraArgs" -}}
{{- $_ := set $settings $key (ternary (get $.env $key) (get $.root.Values.gateway $key) (hasKey $.env $key)) -}}
{{- end -}}
{{- toJson $settings -}}
{{- end -}}

{{/* Where a gateway environment is reached: its publicUrl, or its in-cluster Service URL. */}}
{{- define "apiway.publicUrl" -}}
{{- if .env.publicUrl -}}
{{- .env.publicUrl | trimSuffix "/" -}}
{{- else -}}
{{- $port := (include "apiway.gatewaySettings" . | fromJson).service.port | int -}}
{{- printf "http://%s.%s.svc%s" (include "apiway.gatewayName" (dict "root" .root "env" .env.name)) .root.Release.Namespace (ternary "" (printf ":%d" $port) (eq $port 80)) -}}
{{- end -}}
{{- end -}}

{{/* The Redis URL the gateways use, if any. */}}
{{- define "apiway.redisUrl" -}}
{{- if .Values.redis.external.url -}}
{{- .Values.redis.external.url -}}
{{- else if .Values.redis.internal.enabled -}}
{{- printf "redis://%s.%s.svc:6379" (include "apiway.redisName" .) .Release.Namespace -}}
{{- end -}}
{{- end -}}

{{/* Pod-level security: non-root, no privilege escalation path, the runtime's seccomp profile. */}}
{{- define "apiway.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "apiway.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: [ALL]
{{- end -}}

{{/* Checks across values that the JSON schema cannot express. */}}
{{- define "apiway.validate" -}}
{{- $seen := dict -}}
{{- range .Values.gateway.environments -}}
{{- if hasKey $seen .name -}}
{{- fail (printf "gateway.environments: %q is listed twice" .name) -}}
{{- end -}}
{{- $_ := set $seen .name true -}}
{{- end -}}
{{- if and .Values.redis.external.url .Values.redis.internal.enabled -}}
{{- fail "redis: set redis.internal.enabled=false when redis.external.url is set (one Redis for the counters)" -}}
{{- end -}}
{{- if and (gt (int .Values.operator.replicas) 1) (not .Values.operator.leaderElect) -}}
{{- fail "operator: replicas > 1 needs operator.leaderElect=true (two leaders would fight over the snapshot)" -}}
{{- end -}}
{{- end -}}
