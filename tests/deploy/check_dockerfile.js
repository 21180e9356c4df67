// Lints a Dockerfile without a container engine: syntax (dockerfile-utils, the linter of the
// VS Code Docker extension) and the properties deploy/Dockerfile promises. Prints one line per
// check; exits 1 if any fails.
//   node check_dockerfile.js NODE_MODULES_DIR DOCKERFILE
"use strict";
const fs = require("fs");
const path = require("path");

const [modules, file] = process.argv.slice(2);
const utils = require(path.resolve(modules, "dockerfile-utils"));
const { DockerfileParser } = require(path.resolve(modules, "dockerfile-ast"));
const text = fs.readFileSync(file, "utf8");
const dockerfile = DockerfileParser.parse(text);

let failed = 0;
function check(name, ok, detail) {
  console.log(`${ok ? "ok  " : "FAIL"} ${name}${ok || !detail ? "" : ": " + detail}`);
  if (!ok) failed++;
}

const diagnostics = utils.validate(text);
check("dockerfile-utils finds no error or warning", diagnostics.length === 0,
  diagnostics.map((d) => `line ${d.range.start.line + 1}: ${d.message}`).join("; "));

// ARG defaults before the first FROM, for resolving base images.
const args = {};
for (const arg of dockerfile.getInitialARGs()) {
  const [key, value] = arg.getArgumentsContent().split("=");
  if (value !== undefined) args[key.trim()] = value.trim();
}
const resolve = (s) => s.replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (_, k) => args[k] ?? "");

// Instructions by stage.
const stages = [];
for (const instruction of dockerfile.getInstructions()) {
  const keyword = instruction.getKeyword();
  if (keyword === "FROM") {
    stages.push({ from: instruction, body: [] });
  } else if (stages.length > 0) {
    stages[stages.length - 1].body.push(instruction);
  }
}
check("multi-stage: a build stage and a runtime stage", stages.length >= 2, `${stages.length} stage(s)`);

for (const stage of stages) {
  const image = resolve(stage.from.getArgumentsContent().split(/\s+/)[0]);
  const [name, tag] = image.split("@")[0].split(":");
  check(`base image ${image} is Debian 12 (bookworm)`, name === "debian" &&
    /^(12(\.\d+)?|bookworm)(-[0-9]{8})?(-slim)?$/.test(tag || "") || /@sha256:[0-9a-f]{64}$/.test(image));
  check(`base image ${image} is pinned (a point release, a dated tag or a digest)`,
    /@sha256:[0-9a-f]{64}$/.test(image) || /^12\.\d+(-slim)?$/.test(tag || "") ||
    /^bookworm-[0-9]{8}(-slim)?$/.test(tag || ""));
}

const all = dockerfile.getInstructions();
const adds = all.filter((i) => i.getKeyword() === "ADD");
check("no ADD (COPY only: no remote URLs, no implicit unpacking)", adds.length === 0,
  adds.map((i) => i.getArgumentsContent()).join("; "));

const build = stages[0]?.body ?? [];
check("the build stage installs its tools with tools/setup.sh",
  build.some((i) => i.getKeyword() === "RUN" && /tools\/setup\.sh/.test(i.getArgumentsContent())));

const runtime = stages[stages.length - 1]?.body ?? [];
const users = runtime.filter((i) => i.getKeyword() === "USER");
const user = users.length ? users[users.length - 1].getArgumentsContent().trim() : "";
check("the runtime stage runs as a numeric non-root user (runAsNonRoot can verify it)",
  /^[0-9]+(:[0-9]+)?$/.test(user) && !/^0(:|$)/.test(user), user || "no USER");
const runs = runtime.filter((i) => i.getKeyword() === "RUN").map((i) => i.getArgumentsContent()).join("\n");
check("the runtime stage installs no compiler, header or build tool",
  !/(^|\s)(g\+\+|gcc|clang|cmake|ninja-build|make|[a-z0-9.+-]+-dev)(?=\s|$)/m.test(runs) && !/tools\/setup\.sh/.test(runs));
check("the runtime stage cleans the apt lists", !/apt-get/.test(runs) || /rm -rf \/var\/lib\/apt\/lists/.test(runs));
const copies = runtime.filter((i) => i.getKeyword() === "COPY").map((i) => {
  const from = i.getFromFlag ? i.getFromFlag() : null;
  return `${from ? "--from=" + from.getValue() + " " : ""}${i.getArgumentsContent()}`;
});
check("the runtime stage copies only the binary and its package list from the build",
  copies.length > 0 && copies.every((c) => /^--from=build \/build\/(cli\/fleetpdp|runtime-packages\.txt)\s/.test(c)),
  copies.join("; "));
check("the only writable directory the server needs is made for that user",
  /install -d -o 65532 -g 65532[^\n]*\/var\/lib\/fleetpdp/.test(runs));
const entry = runtime.filter((i) => i.getKeyword() === "ENTRYPOINT").map((i) => i.getArgumentsContent());
check("ENTRYPOINT is the binary, in exec form", entry.length === 1 && /^\["\/usr\/local\/bin\/fleetpdp"\]$/.test(entry[0]), entry.join());
const exposed = runtime.filter((i) => i.getKeyword() === "EXPOSE").map((i) => i.getArgumentsContent()).join(" ");
check("EXPOSE the gRPC and metrics ports", /\b50051\b/.test(exposed) && /\b9090\b/.test(exposed), exposed);

console.log(failed ? `${failed} check(s) failed` : "Dockerfile checks passed");
process.exit(failed ? 1 : 0);
