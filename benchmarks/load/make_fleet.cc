// fleetpdp_make_fleet: writes the synthetic fleet of benchmarks/fleet_generator.h as a policy
// source directory that `fleetpdp bundle build` accepts, and a matching request file for
// fleetpdp_loadgen with the decision the engine gives each request.
//
//   fleetpdp_make_fleet --out build/large-fleet --statements 100000 --devices 1000000
//       --groups 10000 --requests build/large-fleet.jsonl
//
// Layout: manifest.yaml; policies/policies-NNN.yaml (2,000 policies per file); entities/groups.yaml
// and entities/devices-NNN.yaml (100,000 devices per file: a bundle file may hold 64 MiB);
// tests/generated_test.yaml (a few requests of each kind with the engine's decisions, so that
// `bundle build` checks what it packs). Every string is written double-quoted.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "benchmarks/fleet_generator.h"
#include "engine/rule_index.h"

namespace fleetpdp::load {
namespace {

namespace fs = std::filesystem;
using engine::PolicySet;

constexpr char kUsage[] = R"(usage: fleetpdp_make_fleet --out DIR [OPTIONS]

Writes a synthetic fleet (benchmarks/fleet_generator.h) as a policy source directory for
"fleetpdp bundle build", and optionally a request file for fleetpdp_loadgen.

  --out DIR            the source directory to write (created; must not exist unless --force)
  --statements N       statements over all policies (default 100000)
  --devices N          devices (default 1000000)
  --groups N           groups, in a three-level hierarchy (default 10000; at least 3)
  --seed N             fleet seed (default 1)
  --revision N         the manifest's revision (default 1)
  --requests FILE      also write a JSON lines request file here
  --request-count N    requests in it (default 10000): 70% publish own telemetry, 20% receive
                       group config, 5% subscribe, 5% publish to another device's cmd/ (denied)
  --force              replace DIR if it exists
)";

// A YAML double-quoted scalar: a JSON string (YAML accepts JSON's string syntax), quoted by
// nlohmann::json; bytes that are not UTF-8 become U+FFFD rather than an exception.
std::string Q(std::string_view s) {
  return nlohmann::json(std::string(s))
      .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string List(const std::vector<std::string>& items) {
  std::vector<std::string> quoted;
  quoted.reserve(items.size());
  for (const std::string& i : items) quoted.push_back(Q(i));
  return absl::StrCat("[", absl::StrJoin(quoted, ", "), "]");
}

std::string Attributes(const std::vector<engine::Attribute>& attributes) {
  std::vector<std::string> parts;
  for (const engine::Attribute& a : attributes) {
    parts.push_back(absl::StrCat(
        Q(a.key), ": ", a.is_list || a.values.size() != 1 ? List(a.values) : Q(a.values[0])));
  }
  return absl::StrCat("{", absl::StrJoin(parts, ", "), "}");
}

std::string Quantifier(engine::Quantifier q) {
  switch (q) {
    case engine::Quantifier::kForAnyValue:
      return "ForAnyValue:";
    case engine::Quantifier::kForAllValues:
      return "ForAllValues:";
    case engine::Quantifier::kSingle:
      return "";
  }
  return "";
}

void WritePolicy(std::ostream& out, const engine::Policy& p) {
  out << "---\napiVersion: fleetpdp/v1\nkind: Policy\nmetadata: {name: " << Q(p.name) << "}\n"
      << "spec:\n  principals: ";
  if (p.principals.any) {
    out << "\"*\"\n";
  } else {
    std::vector<std::string> parts;
    if (!p.principals.ids.empty()) parts.push_back(absl::StrCat("ids: ", List(p.principals.ids)));
    if (!p.principals.groups.empty()) {
      parts.push_back(absl::StrCat("groups: ", List(p.principals.groups)));
    }
    if (!p.principals.attributes.empty()) {
      std::vector<std::string> attrs;
      for (const auto& [k, v] : p.principals.attributes)
        attrs.push_back(absl::StrCat(Q(k), ": ", Q(v)));
      parts.push_back(absl::StrCat("attributes: {", absl::StrJoin(attrs, ", "), "}"));
    }
    out << "{" << absl::StrJoin(parts, ", ") << "}\n";
  }
  out << "  statements:\n";
  for (const engine::Statement& s : p.statements) {
    out << "    - {id: " << Q(s.id)
        << ", effect: " << (s.effect == engine::Effect::kAllow ? "allow" : "deny")
        << ", actions: " << List(s.actions) << ", resources: " << List(s.resources);
    if (!s.conditions.empty()) {
      // Operator → attribute path → values, in first-seen order of operators.
      std::vector<std::string> ops;
      std::map<std::string, std::vector<std::string>> by_op;
      for (const engine::Condition& c : s.conditions) {
        std::string op = Quantifier(c.quantifier) + c.op;
        if (by_op.find(op) == by_op.end()) ops.push_back(op);
        by_op[op].push_back(absl::StrCat(Q(c.key), ": ", List(c.values)));
      }
      std::vector<std::string> parts;
      for (const std::string& op : ops) {
        parts.push_back(absl::StrCat(Q(op), ": {", absl::StrJoin(by_op[op], ", "), "}"));
      }
      out << ", conditions: {" << absl::StrJoin(parts, ", ") << "}";
    }
    out << "}\n";
  }
}

const char* Section(const std::string& type) {
  if (type == "service") return "services";
  if (type == "user") return "users";
  return "devices";
}

bool Close(std::ofstream& out, const fs::path& path) {
  out.close();
  if (!out) {
    std::cerr << "fleetpdp_make_fleet: cannot write " << path << "\n";
    return false;
  }
  return true;
}

// The request as a JSON line (JSON is what Q writes).
std::string RequestLine(const engine::Request& r, bool allowed) {
  std::vector<std::string> context;
  for (const engine::Attribute& a : r.context) {
    context.push_back(
        absl::StrCat(Q(a.key), ": ", a.values.size() == 1 ? Q(a.values[0]) : List(a.values)));
  }
  return absl::StrCat("{\"principal\": ", Q(r.principal.id), ", \"action\": ", Q(r.action),
                      ", \"resource\": ", Q(r.resource), ", \"context\": {",
                      absl::StrJoin(context, ", "),
                      "}, \"expect\": ", allowed ? "\"allow\"" : "\"deny\"", "}");
}

void Progress(const std::string& what, size_t done, size_t total) {
  std::fprintf(stderr, "\r%s %zu/%zu", what.c_str(), done, total);
  if (done == total) std::fprintf(stderr, "\n");
}

int Main(int argc, char** argv) {
  benchmarks::FleetOptions fleet{.statements = 100'000, .entities = 1'000'000, .groups = 10'000};
  std::string out_dir, requests_path;
  uint64_t revision = 1;
  size_t request_count = 10'000;
  bool force = false;
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    if (flag == "--help" || flag == "-h") return (std::cout << kUsage, 0);
    if (flag == "--force") {
      force = true;
      continue;
    }
    if (i + 1 >= argc) {
      std::cerr << "fleetpdp_make_fleet: " << flag << " needs a value\n\n" << kUsage;
      return 2;
    }
    std::string value = argv[++i];
    bool ok = true;
    if (flag == "--out") {
      out_dir = value;
    } else if (flag == "--statements") {
      ok = absl::SimpleAtoi(value, &fleet.statements) && fleet.statements >= 1;
    } else if (flag == "--devices") {
      ok = absl::SimpleAtoi(value, &fleet.entities) && fleet.entities >= 1;
    } else if (flag == "--groups") {
      ok = absl::SimpleAtoi(value, &fleet.groups) && fleet.groups >= 3;
    } else if (flag == "--seed") {
      ok = absl::SimpleAtoi(value, &fleet.seed);
    } else if (flag == "--revision") {
      ok = absl::SimpleAtoi(value, &revision) && revision >= 1;
    } else if (flag == "--requests") {
      requests_path = value;
    } else if (flag == "--request-count") {
      ok = absl::SimpleAtoi(value, &request_count) && request_count >= 1;
    } else {
      std::cerr << "fleetpdp_make_fleet: unknown flag \"" << flag << "\"\n\n" << kUsage;
      return 2;
    }
    if (!ok) {
      std::cerr << "fleetpdp_make_fleet: " << flag << ": \"" << value << "\" is out of range\n";
      return 2;
    }
  }
  if (out_dir.empty()) {
    std::cerr << "fleetpdp_make_fleet: --out DIR is required\n\n" << kUsage;
    return 2;
  }
  const fs::path root(out_dir);
  std::error_code ec;
  if (fs::exists(root, ec)) {
    if (!force) {
      std::cerr << "fleetpdp_make_fleet: " << root << " exists (pass --force to replace it)\n";
      return 2;
    }
    fs::remove_all(root, ec);
  }
  for (const char* sub : {"policies", "entities", "tests"}) fs::create_directories(root / sub, ec);
  if (ec) {
    std::cerr << "fleetpdp_make_fleet: cannot create " << root << ": " << ec.message() << "\n";
    return 1;
  }

  const absl::Time start = absl::Now();
  std::fprintf(stderr, "generating %zu statements, %zu devices, %zu groups (seed %llu)\n",
               fleet.statements, fleet.entities, fleet.groups,
               static_cast<unsigned long long>(fleet.seed));
  PolicySet set = benchmarks::GenerateFleet(fleet);

  {
    std::ofstream m(root / "manifest.yaml");
    m << "name: synthetic-fleet\nrevision: " << revision << "\ncreated: \""
      << absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::Now(), absl::UTCTimeZone()) << "\"\n"
      << "description: "
      << Q(absl::StrCat("fleetpdp_make_fleet: ", fleet.statements, " statements, ", fleet.entities,
                        " devices, ", fleet.groups, " groups, seed ", fleet.seed))
      << "\n";
    if (!Close(m, root / "manifest.yaml")) return 1;
  }

  constexpr size_t kPoliciesPerFile = 2'000;
  for (size_t first = 0; first < set.policies.size(); first += kPoliciesPerFile) {
    const fs::path path =
        root / "policies" / absl::StrFormat("policies-%03d.yaml", first / kPoliciesPerFile);
    std::ofstream out(path);
    const size_t last = std::min(set.policies.size(), first + kPoliciesPerFile);
    for (size_t i = first; i < last; ++i) WritePolicy(out, set.policies[i]);
    if (!Close(out, path)) return 1;
    Progress("policies", last, set.policies.size());
  }

  {
    const fs::path path = root / "entities" / "groups.yaml";
    std::ofstream out(path);
    out << "apiVersion: fleetpdp/v1\nkind: Entities\ngroups:\n";
    for (const engine::Group& g : set.groups) {
      out << "  - {id: " << Q(g.id);
      if (!g.parents.empty()) out << ", parents: " << List(g.parents);
      out << "}\n";
    }
    if (!Close(out, path)) return 1;
  }
  constexpr size_t kEntitiesPerFile = 100'000;
  for (size_t first = 0; first < set.entities.size(); first += kEntitiesPerFile) {
    const fs::path path =
        root / "entities" / absl::StrFormat("devices-%03d.yaml", first / kEntitiesPerFile);
    std::ofstream out(path);
    out << "apiVersion: fleetpdp/v1\nkind: Entities\n";
    const size_t last = std::min(set.entities.size(), first + kEntitiesPerFile);
    std::string section;
    for (size_t i = first; i < last; ++i) {
      const engine::Entity& e = set.entities[i];
      if (section != Section(e.type)) {
        section = Section(e.type);
        out << section << ":\n";
      }
      out << "  - {id: " << Q(e.id);
      if (!e.groups.empty()) out << ", groups: " << List(e.groups);
      if (!e.attributes.empty()) out << ", attributes: " << Attributes(e.attributes);
      out << "}\n";
    }
    if (!Close(out, path)) return 1;
    Progress("devices", last, set.entities.size());
  }

  // Requests in the load mix, decided by the engine itself.
  using benchmarks::RequestKind;
  std::vector<RequestKind> kinds;
  kinds.insert(kinds.end(), 14, RequestKind::kPublishTelemetry);
  kinds.insert(kinds.end(), 4, RequestKind::kReceiveGroupConfig);
  kinds.push_back(RequestKind::kSubscribe);
  kinds.push_back(RequestKind::kDeniedCommand);
  std::vector<engine::Request> requests =
      benchmarks::GenerateRequests(set, kinds, std::max<size_t>(request_count, 40), fleet.seed + 6);
  std::fprintf(stderr, "compiling the fleet to decide %zu requests\n", requests.size());
  absl::StatusOr<std::shared_ptr<const engine::RuleIndex>> index = engine::Compile(set);
  if (!index.ok()) {
    std::cerr << "fleetpdp_make_fleet: the generated fleet does not compile: " << index.status()
              << "\n";
    return 1;
  }
  std::vector<bool> allowed(requests.size());
  size_t allows = 0;
  for (size_t i = 0; i < requests.size(); ++i) {
    allowed[i] = engine::Evaluate(**index, requests[i]).allowed;
    allows += allowed[i];
  }

  {
    // Two requests of each kind: `bundle build` runs these against what it packs.
    const fs::path path = root / "tests" / "generated_test.yaml";
    std::ofstream out(path);
    out << "apiVersion: fleetpdp/v1\nkind: PolicyTest\nmetadata: {name: generated}\ncases:\n";
    for (size_t i = 0; i < 40 && i < requests.size(); i += 1) {
      if (i % 20 != 0 && i % 20 != 1 && i % 20 != 14 && i % 20 != 15 && i % 20 != 18 &&
          i % 20 != 19) {
        continue;
      }
      const engine::Request& r = requests[i];
      out << "  - {name: "
          << Q(absl::StrCat("request ", i, " (",
                            std::string(benchmarks::RequestKindName(kinds[i % kinds.size()])), ")"))
          << ", principal: " << Q(r.principal.id) << ", action: " << Q(r.action)
          << ", resource: " << Q(r.resource) << ", context: " << Attributes(r.context)
          << ", expect: " << (allowed[i] ? "allow" : "deny") << "}\n";
    }
    if (!Close(out, path)) return 1;
  }
  if (!requests_path.empty()) {
    std::ofstream out(requests_path);
    out << "# fleetpdp_make_fleet: " << requests.size() << " requests (" << allows
        << " allowed by the engine)\n";
    for (size_t i = 0; i < request_count && i < requests.size(); ++i) {
      out << RequestLine(requests[i], allowed[i]) << "\n";
    }
    if (!Close(out, requests_path)) return 1;
  }
  std::fprintf(
      stderr,
      "wrote %s in %s: %zu policies, %zu groups, %zu devices; %zu of %zu requests allowed\n",
      out_dir.c_str(),
      absl::FormatDuration(absl::Trunc(absl::Now() - start, absl::Milliseconds(1))).c_str(),
      set.policies.size(), set.groups.size(), set.entities.size(), allows, requests.size());
  return 0;
}

}  // namespace
}  // namespace fleetpdp::load

int main(int argc, char** argv) { return fleetpdp::load::Main(argc, argv); }
