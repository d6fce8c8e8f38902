{{/* Names, labels and the rules config shared by the templates. */}}

{{- define "metrics-adapter.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "metrics-adapter.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "metrics-adapter.namespace" -}}
{{- default .Release.Namespace .Values.namespaceOverride -}}
{{- end -}}

{{- define "metrics-adapter.queueStatsName" -}}
{{- printf "%s-queue-stats" (include "metrics-adapter.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* queue-stats' TLS Secrets: the user's (queueStats.tls.existingSecrets) or the generated ones. */}}
{{- define "metrics-adapter.queueStatsServerSecret" -}}
{{- default (printf "%s-tls" (include "metrics-adapter.queueStatsName" .)) .Values.queueStats.tls.existingSecrets.server -}}
{{- end -}}
{{- define "metrics-adapter.queueStatsAdapterSecret" -}}
{{- default (printf "%s-client-tls" (include "metrics-adapter.queueStatsName" .)) .Values.queueStats.tls.existingSecrets.adapter -}}
{{- end -}}
{{- define "metrics-adapter.queueStatsKedaSecret" -}}
{{- default (printf "%s-keda-tls" (include "metrics-adapter.queueStatsName" .)) .Values.queueStats.tls.existingSecrets.keda -}}
{{- end -}}
{{- define "metrics-adapter.queueStatsKedaSecretNamespace" -}}
{{- default (include "metrics-adapter.namespace" .) .Values.queueStats.tls.keda.namespace -}}
{{- end -}}
{{/* Whether there is a KEDA client Secret (given, or generated). */}}
{{- define "metrics-adapter.queueStatsHasKedaSecret" -}}
{{- $tls := .Values.queueStats.tls -}}
{{- if or $tls.existingSecrets.keda (and (not $tls.existingSecrets.server) $tls.keda.create) }}true{{ end -}}
{{- end -}}

{{/* A Secret (ca.crt, tls.crt, tls.key) with a certificate signed by .ca:
     the one already in the cluster when it exists and was signed by that
     CA (so upgrades keep it), else a new one.
     dict: root, name, namespace, cn, dnsNames, days, ca. */}}
{{- define "metrics-adapter.queueStatsCertSecret" -}}
{{- $old := lookup "v1" "Secret" .namespace .name -}}
{{- $crt := "" -}}
{{- $key := "" -}}
{{- if and $old $old.data (index $old.data "ca.crt") (index $old.data "tls.crt") (index $old.data "tls.key") (eq (index $old.data "ca.crt" | b64dec) .ca.Cert) -}}
{{- $crt = index $old.data "tls.crt" | b64dec -}}
{{- $key = index $old.data "tls.key" | b64dec -}}
{{- else -}}
{{- $c := genSignedCert .cn nil .dnsNames (int .days) .ca -}}
{{- $crt = $c.Cert -}}
{{- $key = $c.Key -}}
{{- end -}}
apiVersion: v1
kind: Secret
type: kubernetes.io/tls
metadata:
  name: {{ .name }}
  namespace: {{ .namespace }}
  labels:
    {{- include "metrics-adapter.labels" .root | nindent 4 }}
    app.kubernetes.io/component: queue-stats
data:
  ca.crt: {{ .ca.Cert | b64enc }}
  tls.crt: {{ $crt | b64enc }}
  tls.key: {{ $key | b64enc }}
{{- end -}}

{{- define "metrics-adapter.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "metrics-adapter.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: metrics-adapter
{{- with .Values.customLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "metrics-adapter.selectorLabels" -}}
app.kubernetes.io/name: {{ include "metrics-adapter.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: adapter
{{- end -}}

{{- define "metrics-adapter.queueStatsSelectorLabels" -}}
app.kubernetes.io/name: {{ include "metrics-adapter.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: queue-stats
{{- end -}}

{{- define "metrics-adapter.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "metrics-adapter.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "metrics-adapter.queueStatsServiceAccountName" -}}
{{- if .Values.queueStats.serviceAccount.create -}}
{{- default (include "metrics-adapter.queueStatsName" .) .Values.queueStats.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.queueStats.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "metrics-adapter.image" -}}
{{- printf "%s:%s" .repository (default $.appVersion .tag) -}}
{{- end -}}

{{/* The default rules: cAdvisor's container series per pod and namespace,
     and application series, counters as per-second rates. */}}
{{- define "metrics-adapter.defaultRules" -}}
- seriesQuery: '{__name__=~"^container_.*",container!="POD",namespace!="",pod!=""}'
  resources:
    overrides:
      namespace: {resource: namespace}
      pod: {resource: pod}
  name:
    matches: ^container_(.*)_seconds_total$
    as: ""
  metricsQuery: sum(rate(<<.Series>>{<<.LabelMatchers>>,container!="POD"}[5m])) by (<<.GroupBy>>)
- seriesQuery: '{__name__=~"^container_.*",container!="POD",namespace!="",pod!=""}'
  seriesFilters:
    - isNot: ^container_.*_seconds_total$
  resources:
    overrides:
      namespace: {resource: namespace}
      pod: {resource: pod}
  name:
    matches: ^container_(.*)_total$
    as: ""
  metricsQuery: sum(rate(<<.Series>>{<<.LabelMatchers>>,container!="POD"}[5m])) by (<<.GroupBy>>)
- seriesQuery: '{__name__=~"^container_.*",container!="POD",namespace!="",pod!=""}'
  seriesFilters:
    - isNot: ^container_.*_total$
  resources:
    overrides:
      namespace: {resource: namespace}
      pod: {resource: pod}
  name:
    matches: ^container_(.*)$
    as: ""
  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>,container!="POD"}) by (<<.GroupBy>>)
- seriesQuery: '{namespace!="",__name__!~"^container_.*"}'
  seriesFilters:
    - isNot: .*_total$
  resources:
    template: <<.Resource>>
  name:
    matches: ""
    as: ""
  metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)
- seriesQuery: '{namespace!="",__name__!~"^container_.*"}'
  seriesFilters:
    - isNot: .*_seconds_total
  resources:
    template: <<.Resource>>
  name:
    matches: ^(.*)_total$
    as: "${1}_per_second"
  metricsQuery: sum(rate(<<.Series>>{<<.LabelMatchers>>}[5m])) by (<<.GroupBy>>)
- seriesQuery: '{namespace!="",__name__!~"^container_.*"}'
  resources:
    template: <<.Resource>>
  name:
    matches: ^(.*)_seconds_total$
    as: "${1}_per_second"
  metricsQuery: sum(rate(<<.Series>>{<<.LabelMatchers>>}[5m])) by (<<.GroupBy>>)
{{- end -}}

{{/* Whether anything serves each API group. */}}
{{- define "metrics-adapter.servesCustom" -}}
{{- if or .Values.rules.existing .Values.rules.default .Values.rules.custom (include "metrics-adapter.hasUpstreams" (dict "root" . "api" "custom")) }}true{{ end -}}
{{- end -}}
{{- define "metrics-adapter.servesExternal" -}}
{{- if or .Values.rules.existing .Values.rules.external .Values.queueStats.enabled (include "metrics-adapter.hasUpstreams" (dict "root" . "api" "external")) }}true{{ end -}}
{{- end -}}
{{- define "metrics-adapter.servesResource" -}}
{{- if or .Values.rules.resource }}true{{ end -}}
{{- end -}}

{{/* A resource name's plural, for RBAC (rules may name "pod" or "pods"). */}}
{{- define "metrics-adapter.plural" -}}
{{- $r := lower . -}}
{{- if hasSuffix "ss" $r -}}{{ $r }}es
{{- else if hasSuffix "s" $r -}}{{ $r }}
{{- else if or (hasSuffix "x" $r) (hasSuffix "ch" $r) (hasSuffix "sh" $r) -}}{{ $r }}es
{{- else if regexMatch "[^aeiou]y$" $r -}}{{ trimSuffix "y" $r }}ies
{{- else -}}{{ $r }}s
{{- end -}}
{{- end -}}


{{/* Whether upstreams.<api> (dict: root, api) has entries. */}}
{{- define "metrics-adapter.hasUpstreams" -}}
{{- if index (.root.Values.upstreams | default dict) .api }}true{{ end -}}
{{- end -}}

{{/* The upstreams (upstreams.external, then upstreams.custom, each in its
     order), checked, with where the Deployment mounts each one's CA, token
     and client certificate: YAML {entries: [...]}, read with fromYaml.
     Entry: api, url, timeout, and for each of ca, token, clientTls a
     volume name, its source (secretName or configMapName) and the file
     paths. Rendering fails naming the entry (upstreams.external[0]) on a
     missing or non-https url or a half-given CA, token or certificate. */}}
{{- define "metrics-adapter.upstreams" -}}
{{- $ups := .Values.upstreams | default dict -}}
{{- $entries := list -}}
{{- range $api := list "external" "custom" -}}
{{- $list := index $ups $api | default list -}}
{{- if not (kindIs "slice" $list) -}}
{{- fail (printf "upstreams.%s must be a list of upstreams ({url: https://...})" $api) -}}
{{- end -}}
{{- range $i, $u := $list -}}
{{- $where := printf "upstreams.%s[%d]" $api $i -}}
{{- if not (kindIs "map" $u) -}}
{{- fail (printf "%s must be a map with a url (https://<service>.<namespace>.svc:<port>)" $where) -}}
{{- end -}}
{{- $url := toString ($u.url | default "") -}}
{{- if not $url -}}
{{- fail (printf "%s: url is required (https://<service>.<namespace>.svc:<port>)" $where) -}}
{{- end -}}
{{- if not (hasPrefix "https://" $url) -}}
{{- fail (printf "%s: url %s must start with https:// (upstreams are called over verified TLS)" $where $url) -}}
{{- end -}}
{{- $id := printf "%s-%d" $api $i -}}
{{- $dir := printf "/var/run/upstreams/%s" $id -}}
{{- $e := dict "api" $api "url" $url -}}
{{- with $u.timeout }}{{ $_ := set $e "timeout" (toString .) }}{{ end -}}
{{- with $u.ca -}}
{{- if not (kindIs "map" .) -}}
{{- fail (printf "%s.ca is a map: {secretName: <name>} or {configMapName: <name>}, with key (default ca.crt)" $where) -}}
{{- end -}}
{{- if and .secretName .configMapName -}}
{{- fail (printf "%s.ca: give secretName or configMapName, not both" $where) -}}
{{- end -}}
{{- if not (or .secretName .configMapName) -}}
{{- fail (printf "%s.ca needs secretName or configMapName (a Secret or ConfigMap in the release's namespace holding the CA bundle)" $where) -}}
{{- end -}}
{{- $key := .key | default "ca.crt" -}}
{{- $ca := dict "volume" (printf "upstream-%s-ca" $id) "mountPath" (printf "%s/ca" $dir) "file" (printf "%s/ca/%s" $dir $key) -}}
{{- if .secretName }}{{ $_ := set $ca "secretName" .secretName }}{{ else }}{{ $_ := set $ca "configMapName" .configMapName }}{{ end -}}
{{- $_ := set $e "ca" $ca -}}
{{- end -}}
{{- with $u.tokenSecret -}}
{{- if not (and (kindIs "map" .) .secretName) -}}
{{- fail (printf "%s.tokenSecret needs secretName (a Secret in the release's namespace holding the bearer token)" $where) -}}
{{- end -}}
{{- $key := .key | default "token" -}}
{{- $_ := set $e "token" (dict "volume" (printf "upstream-%s-token" $id) "mountPath" (printf "%s/token" $dir) "file" (printf "%s/token/%s" $dir $key) "secretName" .secretName) -}}
{{- end -}}
{{- with $u.clientCertSecret -}}
{{- if not (kindIs "string" .) -}}
{{- fail (printf "%s.clientCertSecret is the name of a kubernetes.io/tls Secret (tls.crt, tls.key)" $where) -}}
{{- end -}}
{{- $_ := set $e "clientTls" (dict "volume" (printf "upstream-%s-client-tls" $id) "mountPath" (printf "%s/client-tls" $dir) "certFile" (printf "%s/client-tls/tls.crt" $dir) "keyFile" (printf "%s/client-tls/tls.key" $dir) "secretName" .) -}}
{{- end -}}
{{- $entries = append $entries $e -}}
{{- end -}}
{{- end -}}
{{- toYaml (dict "entries" $entries) -}}
{{- end -}}

{{/* The --upstreams-config file. */}}
{{- define "metrics-adapter.upstreamsConfig" -}}
upstreams:
{{- range (include "metrics-adapter.upstreams" . | fromYaml).entries }}
  - url: {{ .url | quote }}
    api: {{ .api }}
    {{- with .ca }}
    caFile: {{ .file }}
    {{- end }}
    {{- with .token }}
    tokenFile: {{ .file }}
    {{- end }}
    {{- with .clientTls }}
    certFile: {{ .certFile }}
    keyFile: {{ .keyFile }}
    {{- end }}
    {{- with .timeout }}
    timeout: {{ . | quote }}
    {{- end }}
{{- end }}
{{- end -}}
