// Metric names: the ones server/metrics.cc exports, and the ones a PromQL expression reads.
// Shared by check_dashboard.js and check_rule_metrics.js.
"use strict";

// Series exported by BuildHistogram/Counter/Gauge().Name("…"); a histogram exports three.
function exportedMetrics(metricsSource) {
  const exported = new Set();
  for (const m of metricsSource.matchAll(/Build(Histogram|Counter|Gauge)\(\)\s*\.Name\("([a-z_:]+)"\)/g)) {
    if (m[1] === "Histogram") for (const s of ["_bucket", "_sum", "_count"]) exported.add(m[2] + s);
    else exported.add(m[2]);
  }
  return exported;
}

const keywords = new Set(["by", "without", "on", "ignoring", "group_left", "group_right", "and", "or",
  "unless", "bool", "offset", "sum", "min", "max", "avg", "count", "stddev", "stdvar", "topk",
  "bottomk", "quantile", "count_values", "group", "inf", "nan"]);

// Identifiers outside strings, label matchers, ranges and grouping clauses that are neither
// functions, keywords, exponents nor Grafana variables.
function metricNames(expr) {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, "")
    .replace(/\[[^\]]*\]/g, "")
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, "");
  const names = [];
  for (const m of stripped.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const rest = stripped.slice(m.index + m[0].length);
    if (/^\s*\(/.test(rest) || keywords.has(m[0].toLowerCase())) continue;
    if (stripped[m.index - 1] === "$") continue;
    if (/^[eE]\d*$/.test(m[0]) && /\d$/.test(stripped.slice(0, m.index))) continue;  // 1e-3
    names.push(m[0]);
  }
  return names;
}

module.exports = { exportedMetrics, metricNames };
