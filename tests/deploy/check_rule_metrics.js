// Every expression of a Prometheus rule file reads only metrics server/metrics.cc exports, or
// series recorded by the same file.
//   node check_rule_metrics.js NODE_MODULES_DIR RULES.yaml server/metrics.cc
"use strict";
const fs = require("fs");
const path = require("path");
const { exportedMetrics, metricNames } = require("./promql_names.js");

const [modules, rulesFile, metricsSource] = process.argv.slice(2);
const yaml = require(path.resolve(modules, "js-yaml"));
const known = exportedMetrics(fs.readFileSync(metricsSource, "utf8"));
const rules = yaml.load(fs.readFileSync(rulesFile, "utf8")).groups.flatMap((g) => g.rules);
for (const r of rules) if (r.record) known.add(r.record);

let failed = 0;
for (const r of rules) {
  const names = [...new Set(metricNames(r.expr))];
  const unknown = names.filter((n) => !known.has(n));
  const ok = names.length > 0 && unknown.length === 0;
  console.log(`${ok ? "ok  " : "FAIL"} ${r.alert || r.record} reads ${names.join(", ")}` +
    (ok ? "" : ` — not exported: ${unknown.join(", ") || "(no metric)"}`));
  if (!ok) failed++;
}
console.log(failed ? `${failed} rule(s) read unknown metrics` : `all ${rules.length} rules read exported metrics`);
process.exit(failed ? 1 : 0);
