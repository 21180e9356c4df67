// Checks a Grafana dashboard JSON: it parses, its panels are well formed, and every PromQL
// expression uses only metric names that server/metrics.cc exports. Writes the expressions as a
// Prometheus rule file (Grafana variables replaced) so that promtool can check their syntax.
//   node check_dashboard.js DASHBOARD.json server/metrics.cc OUT_RULES.yaml
"use strict";
const fs = require("fs");

const [dashboardFile, metricsSource, rulesOut] = process.argv.slice(2);
let failed = 0;
function check(name, ok, detail) {
  console.log(`${ok ? "ok  " : "FAIL"} ${name}${ok || !detail ? "" : ": " + detail}`);
  if (!ok) failed++;
}

let dashboard;
try {
  dashboard = JSON.parse(fs.readFileSync(dashboardFile, "utf8"));
  check("the dashboard is valid JSON", true);
} catch (e) {
  check("the dashboard is valid JSON", false, e.message);
  process.exit(1);
}

const { exportedMetrics, metricNames } = require("./promql_names.js");
const exported = exportedMetrics(fs.readFileSync(metricsSource, "utf8"));
check("server/metrics.cc exports metrics", exported.size >= 7, [...exported].join(", "));

// Every expression with where it is.
const exprs = [];
const panels = dashboard.panels || [];
const ids = new Set();
for (const p of panels) {
  check(`panel ${p.id} "${p.title}" has an id, a type and a position`,
    Number.isInteger(p.id) && !ids.has(p.id) && typeof p.type === "string" && p.gridPos &&
    ["x", "y", "w", "h"].every((k) => Number.isInteger(p.gridPos[k])));
  ids.add(p.id);
  if (p.type === "row") continue;
  check(`panel "${p.title}" has a description and at least one query`,
    typeof p.description === "string" && p.description.length > 0 && (p.targets || []).length > 0);
  for (const t of p.targets || []) exprs.push({ where: `panel "${p.title}" ${t.refId}`, expr: t.expr });
}
for (const a of (dashboard.annotations || {}).list || []) {
  if (a.expr) exprs.push({ where: `annotation "${a.name}"`, expr: a.expr });
}
// label_values(METRIC{…}, label) in variables: the metric is checked, not the syntax.
const variableMetrics = [];
for (const v of (dashboard.templating || {}).list || []) {
  const q = typeof v.query === "string" ? v.query : v.query && v.query.query;
  const m = /^label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(q || "");
  if (v.type === "query") {
    check(`variable $${v.name} is label_values(metric, label)`, !!m, q);
    if (m) variableMetrics.push({ where: `variable $${v.name}`, name: m[1] });
  }
}

check("the dashboard has queries", exprs.length > 0);
for (const { where, expr } of exprs) {
  const names = metricNames(expr || "");
  const unknown = names.filter((n) => !exported.has(n));
  check(`${where} uses only exported metrics (${[...new Set(names)].join(", ")})`,
    names.length > 0 && unknown.length === 0, `not exported: ${unknown.join(", ") || "(no metric)"}`);
}
for (const { where, name } of variableMetrics) {
  check(`${where} reads an exported metric (${name})`, exported.has(name));
}

// What issue 6 asks the dashboard to show.
const all = exprs.map((e) => e.expr).join("\n");
check("shows decisions/s by outcome", /sum by \(outcome\) \(rate\(fleetpdp_decisions_total/.test(all));
check("shows latency percentiles per method", /histogram_quantile\(0\.99, sum by \(le, method\)/.test(all));
check("shows digest and revision per replica", exprs.some((e) => /^fleetpdp_bundle_info\{/.test(e.expr)) &&
  /count by \(revision, digest\)/.test(all));
check("shows bundle load failures", /fleetpdp_bundle_loads_total\{[^}]*result!="success"/.test(all));
check("shows decision-log drops", /fleetpdp_decision_log_dropped_total/.test(all));

// For promtool: each expression as a recording rule, with Grafana's variables substituted.
const lines = ["groups:", "  - name: dashboard", "    rules:"];
exprs.forEach(({ expr }, i) => {
  const promql = expr.replace(/\$__rate_interval/g, "1m").replace(/\$\{?\w+\}?/g, ".*");
  lines.push(`      - record: dashboard_expr_${i}`, `        expr: ${JSON.stringify(promql)}`);
});
fs.writeFileSync(rulesOut, lines.join("\n") + "\n");

console.log(failed ? `${failed} check(s) failed` : "dashboard checks passed");
process.exit(failed ? 1 : 0);
