{{- define "lawyers-hub.name" -}}lawyers-hub-sync{{- end -}}
{{- define "lawyers-hub.labels" -}}
app.kubernetes.io/name: {{ include "lawyers-hub.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
{{- end -}}
{{- define "lawyers-hub.selector" -}}
app.kubernetes.io/name: {{ include "lawyers-hub.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}
{{- define "lawyers-hub.image" -}}{{ .Values.image.repository }}:{{ .Values.image.tag }}{{- end -}}
{{- define "lawyers-hub.containerSecurity" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: ["ALL"]
{{- end -}}
