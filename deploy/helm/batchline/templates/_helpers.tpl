{{/* Ports inside every pod: HEALTH_PORT (/healthz, /readyz, /metrics) and the monitor's MONITOR_PORT. */}}
{{- define "batchline.healthPort" -}}9400{{- end }}
{{- define "batchline.monitorPort" -}}8080{{- end }}

{{- define "batchline.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The release's full name, truncated so that "<fullname>-<component>" stays a valid DNS label. */}}
{{- define "batchline.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 50 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 50 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 50 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "batchline.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Name of one service's objects. Takes (dict "root" $ "component" "poller"). */}}
{{- define "batchline.componentName" -}}
{{- printf "%s-%s" (include "batchline.fullname" .root) .component }}
{{- end }}

{{- define "batchline.selectorLabels" -}}
app.kubernetes.io/name: {{ include "batchline.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* Every object's labels. Takes (dict "root" $ "component" "poller"). */}}
{{- define "batchline.labels" -}}
helm.sh/chart: {{ include "batchline.chart" .root }}
{{ include "batchline.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/part-of: batchline
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
{{- end }}

{{- define "batchline.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{- define "batchline.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "batchline.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The Secret with API keys, webhook URL and admin tokens: an existing one, or the chart's. */}}
{{- define "batchline.secretName" -}}
{{- default (include "batchline.fullname" .) .Values.secrets.existingSecret }}
{{- end }}

{{/* Where DATABASE_URL lives, as a secretKeyRef: postgres.existingSecret, else the Secret above. */}}
{{- define "batchline.databaseUrlRef" -}}
{{- if .Values.postgres.existingSecret -}}
name: {{ .Values.postgres.existingSecret }}
key: {{ .Values.postgres.existingSecretKey }}
{{- else -}}
name: {{ include "batchline.secretName" . }}
key: DATABASE_URL
{{- end }}
{{- end }}

{{/*
Which secret variables each service reads besides DATABASE_URL, so that a pod sees only the credentials its
service uses. Optional keys: a Secret without one (no Anthropic key, no Slack webhook) still starts the pod.
*/}}
{{- define "batchline.secretEnvByComponent" -}}
poller: [OPENAI_API_KEY, ANTHROPIC_API_KEY]
fetcher: [OPENAI_API_KEY, ANTHROPIC_API_KEY]
persister: []
# The batcher uploads request files and creates batches (OpenAI).
batcher: [OPENAI_API_KEY]
notifier: [SLACK_WEBHOOK_URL, SLACK_CRITICAL_WEBHOOK_URL]
# The monitor retries and cancels batches at the provider.
monitor: [ADMIN_TOKENS, ADMIN_READONLY_TOKENS, OPENAI_API_KEY, ANTHROPIC_API_KEY]
{{- end }}

{{/* A pod's secret environment. Takes (dict "root" $ "component" "poller"). */}}
{{- define "batchline.secretEnv" -}}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      {{- include "batchline.databaseUrlRef" .root | nindent 6 }}
{{- $byComponent := include "batchline.secretEnvByComponent" . | fromYaml }}
{{- range $variable := get $byComponent .component }}
- name: {{ $variable }}
  valueFrom:
    secretKeyRef:
      name: {{ include "batchline.secretName" $.root }}
      key: {{ $variable }}
      optional: true
{{- end }}
{{- end }}

{{/*
Pod settings shared by the Deployments and the migration Job. The Job runs before the chart's ServiceAccount
exists on a first install, so the ServiceAccount is set by the Deployments only.
*/}}
{{- define "batchline.podSettings" -}}
automountServiceAccountToken: false
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* tsx keeps its compile cache in /tmp; the root filesystem is read-only. */}}
{{- define "batchline.tmpVolume" -}}
- name: tmp
  emptyDir:
    sizeLimit: 256Mi
{{- end }}
