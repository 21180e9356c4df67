{{/* Names and labels shared by every template. */}}
{{- define "fleetpdp.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "fleetpdp.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "fleetpdp.selectorLabels" -}}
app.kubernetes.io/name: {{ include "fleetpdp.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "fleetpdp.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "fleetpdp.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: policy-decision-point
{{- end -}}

{{- define "fleetpdp.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "fleetpdp.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The bundle source given, if any: "url", "volume" or "" (the embedded example). */}}
{{- define "fleetpdp.bundleSource" -}}
{{- if and .Values.bundle.url .Values.bundle.volume -}}
{{- fail "bundle.url and bundle.volume are exclusive: set one" -}}
{{- else if .Values.bundle.url -}}url
{{- else if .Values.bundle.volume -}}volume
{{- end -}}
{{- end -}}

{{- define "fleetpdp.keysConfigMap" -}}
{{- default (printf "%s-keys" (include "fleetpdp.fullname" .)) .Values.trustedKeys.existingConfigMap -}}
{{- end -}}

{{- define "fleetpdp.hasKeys" -}}
{{- if or .Values.trustedKeys.keys .Values.trustedKeys.existingConfigMap -}}true{{- end -}}
{{- end -}}

{{- define "fleetpdp.tlsSecret" -}}
{{- default (printf "%s-tls" (include "fleetpdp.fullname" .)) .Values.tls.existingSecret -}}
{{- end -}}

{{- define "fleetpdp.clientCAConfigMap" -}}
{{- default (printf "%s-client-ca" (include "fleetpdp.fullname" .)) .Values.tls.clientCA.existingConfigMap -}}
{{- end -}}

{{- define "fleetpdp.tlsServerName" -}}
{{- default (printf "%s.%s.svc" (include "fleetpdp.fullname" .) .Release.Namespace) .Values.tls.serverName -}}
{{- end -}}
