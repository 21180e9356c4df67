// Validates rendered Kubernetes manifests offline against the Kubernetes (and prometheus-operator)
// OpenAPI schemas shipped in the npm packages kubernetes-models and
// @kubernetes-models/prometheus-operator. Prints one line per object; exits 1 on any invalid
// object or any kind it has no schema for.
//   node validate_manifests.js NODE_MODULES_DIR MANIFESTS.yaml
"use strict";
const fs = require("fs");
const path = require("path");

const [modules, file] = process.argv.slice(2);
if (!modules || !file) {
  console.error("usage: node validate_manifests.js NODE_MODULES_DIR MANIFESTS.yaml");
  process.exit(2);
}
const load = (name) => require(path.resolve(modules, name));
const yaml = load("js-yaml");

// apiVersion → the package directory holding its models.
function modelsFor(apiVersion) {
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
  if (group === "monitoring.coreos.com") {
    return load(`@kubernetes-models/prometheus-operator/${group}/${version}`);
  }
  return load(group === "" ? `kubernetes-models/${version}` : `kubernetes-models/${group}/${version}`);
}

let failed = 0;
let count = 0;
for (const doc of yaml.loadAll(fs.readFileSync(file, "utf8"))) {
  if (doc == null) continue;
  count++;
  const where = `${doc.apiVersion} ${doc.kind} ${doc.metadata && doc.metadata.name}`;
  let Model;
  try {
    Model = modelsFor(String(doc.apiVersion))[doc.kind];
  } catch (e) {
    Model = undefined;
  }
  if (typeof Model !== "function") {
    console.log(`FAIL ${where}: no schema for this apiVersion and kind`);
    failed++;
    continue;
  }
  try {
    new Model(doc).validate();
    console.log(`ok   ${where}`);
  } catch (e) {
    console.log(`FAIL ${where}: ${e.message}`);
    failed++;
  }
}
if (count === 0) {
  console.log("FAIL no manifests in " + file);
  failed++;
}
console.log(`${count} manifests, ${failed} invalid`);
process.exit(failed ? 1 : 0);
