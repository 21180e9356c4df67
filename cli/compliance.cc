// Catalogue parsing and the control → policy → test mapping of cli/compliance.h. Rendering lives
// in compliance_render.cc.
#include "cli/compliance.h"

#include <algorithm>
#include <exception>
#include <initializer_list>
#include <map>
#include <set>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "engine/absl_compat.h"
#include "engine/rule_index.h"
#include "yaml-cpp/yaml.h"

namespace fleetpdp::cli {
namespace {

// Collects every problem of a catalogue with its location, Cedar-style: one run reports them all.
class CatalogueParser {
 public:
  explicit CatalogueParser(absl::string_view path) : path_(path), last_{path_, 1, 1} {}

  absl::StatusOr<Catalogue> Parse(absl::string_view text) {
    Catalogue catalogue;
    catalogue.path = path_;
    YAML::Node doc;
    try {
      doc = YAML::Load(std::string(text));
    } catch (const YAML::ParserException& e) {
      return absl::InvalidArgumentError(
          absl::StrCat(path_, ":", e.mark.line + 1, ":", e.mark.column + 1, ": ", e.msg));
    } catch (const std::exception& e) {
      return absl::InvalidArgumentError(absl::StrCat(path_, ": cannot parse: ", e.what()));
    }
    try {
      ParseDocument(doc, catalogue);
    } catch (const std::exception& e) {  // a shape the checks did not foresee
      Error(doc, absl::StrCat("malformed catalogue: ", e.what()));
    }
    if (!errors_.empty()) return absl::InvalidArgumentError(absl::StrJoin(errors_, "\n"));
    return catalogue;
  }

 private:
  void ParseDocument(const YAML::Node& doc, Catalogue& catalogue) {
    if (!CheckMap(doc, "the catalogue",
                  {"apiVersion", "kind", "metadata", "frameworks", "controls"})) {
      return;
    }
    if (std::string api = Scalar(doc, "apiVersion", true); !api.empty() && api != "fleetpdp/v1") {
      Error(doc["apiVersion"],
            absl::StrCat("unsupported apiVersion \"", api, "\" (expected \"fleetpdp/v1\")"));
    }
    if (std::string kind = Scalar(doc, "kind", true);
        !kind.empty() && kind != "ComplianceCatalogue") {
      Error(doc["kind"], absl::StrCat("kind must be \"ComplianceCatalogue\", not \"", kind, "\""));
    }
    if (YAML::Node metadata = doc["metadata"]; !metadata.IsDefined()) {
      Error(doc, "missing required key \"metadata\"");
    } else if (CheckMap(metadata, "metadata", {"name", "description"})) {
      catalogue.name = Scalar(metadata, "name", true);
      Scalar(metadata, "description", false);
    }
    absl::flat_hash_set<std::string> framework_ids;
    for (const YAML::Node& f : List(doc, "frameworks")) {
      Framework framework;
      if (!CheckMap(f, "a framework", {"id", "title", "source"})) continue;
      framework.id = Scalar(f, "id", true);
      framework.title = Scalar(f, "title", true);
      framework.source = Scalar(f, "source", false);
      if (!framework.id.empty() && !framework_ids.insert(framework.id).second) {
        Error(f["id"], absl::StrCat("duplicate framework id \"", framework.id, "\""));
      }
      catalogue.frameworks.push_back(std::move(framework));
    }
    // Every id and alias, to the place it was first defined.
    absl::flat_hash_map<std::string, std::string> defined;
    for (const YAML::Node& c : List(doc, "controls")) {
      Control control;
      control.location = Loc(c);
      if (!CheckMap(
              c, "a control",
              {"id", "framework", "ref", "title", "description", "scope", "aliases", "note"})) {
        continue;
      }
      control.id = Scalar(c, "id", true);
      CheckId(c["id"], control.id);
      control.framework = Scalar(c, "framework", true);
      if (!control.framework.empty() && !framework_ids.contains(control.framework)) {
        Error(c["framework"], absl::StrCat("framework \"", control.framework,
                                           "\" is not declared under frameworks"));
      }
      control.ref = Scalar(c, "ref", false);
      control.title = Scalar(c, "title", true);
      control.description = Scalar(c, "description", true);
      control.note = Scalar(c, "note", false);
      std::string scope = Scalar(c, "scope", true);
      if (scope == "policy") {
        control.scope = ControlScope::kPolicy;
      } else if (scope == "process") {
        control.scope = ControlScope::kProcess;
      } else if (!scope.empty()) {
        Error(c["scope"],
              absl::StrCat("scope must be \"policy\" or \"process\", not \"", scope, "\""));
      }
      std::vector<std::pair<std::string, YAML::Node>> ids;
      if (!control.id.empty()) ids.emplace_back(control.id, c["id"]);
      if (YAML::Node aliases = c["aliases"]; aliases.IsDefined() && !aliases.IsNull()) {
        if (!aliases.IsSequence()) {
          Error(aliases, "aliases must be a list of ids");
        } else {
          for (const YAML::Node& a : aliases) {
            if (!a.IsScalar() || a.Scalar().empty()) {
              Error(a, "aliases must be non-empty strings");
              continue;
            }
            CheckId(a, a.Scalar());
            control.aliases.push_back(a.Scalar());
            ids.emplace_back(a.Scalar(), a);
          }
        }
      }
      for (const auto& [id, node] : ids) {
        std::string here = Where(node);
        auto [it, inserted] = defined.emplace(id, here);
        if (!inserted) {
          Error(node, absl::StrCat("id \"", id, "\" is already defined at ", it->second));
        }
      }
      catalogue.controls.push_back(std::move(control));
    }
  }

  engine::SourceLocation Loc(const YAML::Node& node) const {
    const YAML::Mark mark = node.Mark();
    if (mark.is_null()) return last_;
    return engine::SourceLocation{path_, mark.line + 1, mark.column + 1};
  }
  std::string Where(const YAML::Node& node) const {
    engine::SourceLocation l = Loc(node);
    return absl::StrCat(l.file, ":", l.line, ":", l.column);
  }
  void Error(const YAML::Node& node, absl::string_view message) {
    errors_.push_back(absl::StrCat(Where(node), ": ", message));
  }

  bool CheckMap(const YAML::Node& node, absl::string_view what,
                std::initializer_list<absl::string_view> allowed) {
    if (!node.IsMap()) {
      Error(node, absl::StrCat(what, " must be a mapping"));
      return false;
    }
    last_ = Loc(node);
    absl::flat_hash_set<std::string> seen;
    for (auto it = node.begin(); it != node.end(); ++it) {
      YAML::Node key = it->first;
      if (!key.IsScalar()) {
        Error(key, absl::StrCat("keys in ", what, " must be strings"));
        continue;
      }
      if (!seen.insert(key.Scalar()).second) {
        Error(key, absl::StrCat("duplicate key \"", key.Scalar(), "\" in ", what));
      }
      if (std::find(allowed.begin(), allowed.end(), key.Scalar()) == allowed.end()) {
        Error(key, absl::StrCat("unknown key \"", key.Scalar(), "\" in ", what,
                                " (expected one of: ", absl::StrJoin(allowed, ", "), ")"));
      }
    }
    return true;
  }

  std::string Scalar(const YAML::Node& map, absl::string_view key, bool required) {
    YAML::Node value = map[std::string(key)];
    if (!value.IsDefined() || value.IsNull()) {
      if (required) Error(map, absl::StrCat("missing required key \"", key, "\""));
      return "";
    }
    if (!value.IsScalar()) {
      Error(value, absl::StrCat("\"", key, "\" must be a string"));
      return "";
    }
    if (required && value.Scalar().empty()) {
      Error(value, absl::StrCat("\"", key, "\" must not be empty"));
    }
    return value.Scalar();
  }

  std::vector<YAML::Node> List(const YAML::Node& map, absl::string_view key) {
    std::vector<YAML::Node> out;
    YAML::Node value = map[std::string(key)];
    if (!value.IsDefined() || value.IsNull()) {
      Error(map, absl::StrCat("missing required key \"", key, "\""));
    } else if (!value.IsSequence() || value.size() == 0) {
      Error(value, absl::StrCat("\"", key, "\" must be a non-empty list"));
    } else {
      for (const YAML::Node& item : value) out.push_back(item);
    }
    return out;
  }

  // Ids are written into policies as tags: no spaces, nothing YAML would need quoted.
  void CheckId(const YAML::Node& at, absl::string_view id) {
    for (char c : id) {
      bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '-' || c == '_' || c == '.' || c == ':' || c == '/';
      if (!ok) {
        Error(at, absl::StrCat("id \"", id,
                               "\" may only contain letters, digits, '-', '_', '.', ':' and '/'"));
        return;
      }
    }
  }

  std::string path_;
  std::vector<std::string> errors_;
  engine::SourceLocation last_;  // for nodes without a mark
};

// Levenshtein distance, for "did you mean".
size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

std::string Nearest(const Catalogue& catalogue, std::string_view tag) {
  std::string best;
  size_t best_distance = 3;  // farther than two edits is no longer a typo
  for (const Control& c : catalogue.controls) {
    size_t d = EditDistance(tag, c.id);
    if (d < best_distance) best = c.id, best_distance = d;
  }
  return best;
}

std::string_view PolicyOf(std::string_view statement) {
  return statement.substr(0, statement.find('/'));
}
std::string_view StatementOf(std::string_view statement) {
  size_t slash = statement.find('/');
  return slash == std::string_view::npos ? statement : statement.substr(slash + 1);
}

std::string Location(const engine::SourceLocation& l) {
  return absl::StrCat(l.file, ":", l.line, ":", l.column);
}

}  // namespace

absl::StatusOr<Catalogue> ParseCatalogue(std::string_view path, std::string_view text) {
  return CatalogueParser(Absl(path)).Parse(Absl(text));
}

std::vector<TestEvidence> CollectEvidence(const engine::RuleIndex& index,
                                          const std::vector<engine::TestResult>& results) {
  std::vector<TestEvidence> out;
  out.reserve(results.size());
  for (const engine::TestResult& r : results) {
    TestEvidence e;
    e.suite = r.test->suite;
    e.name = r.test->name;
    e.location = r.test->location;
    e.passed = r.passed;
    e.failure = r.failure;
    e.decided = index.StatementNames(r.decision);
    if (r.test->expect_statements) e.named = *r.test->expect_statements;
    out.push_back(std::move(e));
  }
  return out;
}

std::string_view ControlStatusName(ControlStatus status) {
  switch (status) {
    case ControlStatus::kCovered:
      return "covered";
    case ControlStatus::kUntested:
      return "untested";
    case ControlStatus::kFailingTest:
      return "failing-test";
    case ControlStatus::kNoPolicy:
      return "no-policy";
    case ControlStatus::kOutOfScope:
      return "outside-policy-scope";
  }
  return "unknown";
}

Report BuildReport(const Catalogue& catalogue, const engine::PolicySet& policies,
                   std::vector<TestEvidence> tests, BundleInfo bundle) {
  Report report;
  report.bundle = std::move(bundle);
  report.catalogue_name = catalogue.name;
  report.catalogue_path = catalogue.path;
  report.frameworks = catalogue.frameworks;
  report.tests = std::move(tests);

  // Tests per policy, with the statements that link them: one pass over the tests.
  struct Link {
    std::set<std::string> statements;
    bool decided = false;
    bool named = false;
  };
  std::map<std::string, std::map<size_t, Link>> tests_of_policy;
  report.test_policies.resize(report.tests.size());
  for (size_t i = 0; i < report.tests.size(); ++i) {
    const TestEvidence& t = report.tests[i];
    std::set<std::string> attributed;
    for (const std::string& s : t.decided) {
      Link& link = tests_of_policy[std::string(PolicyOf(s))][i];
      link.statements.insert(std::string(StatementOf(s)));
      link.decided = true;
      attributed.insert(std::string(PolicyOf(s)));
    }
    for (const std::string& s : t.named) {
      Link& link = tests_of_policy[std::string(PolicyOf(s))][i];
      link.statements.insert(std::string(StatementOf(s)));
      link.named = true;
      attributed.insert(std::string(PolicyOf(s)));
    }
    report.test_policies[i].assign(attributed.begin(), attributed.end());
  }

  absl::flat_hash_map<std::string, size_t> control_of;  // id or alias → index
  for (size_t i = 0; i < catalogue.controls.size(); ++i) {
    const Control& c = catalogue.controls[i];
    control_of.emplace(c.id, i);
    for (const std::string& a : c.aliases) control_of.emplace(a, i);
    report.controls.push_back(ControlReport{c, ControlStatus::kNoPolicy, {}});
  }

  for (const engine::Policy& p : policies.policies) {
    if (p.compliance.empty()) report.untagged_policies.push_back(p.name);
    std::set<size_t> seen;  // a policy tagging one control twice (e.g. id and alias) counts once
    for (size_t t = 0; t < p.compliance.size(); ++t) {
      const std::string& tag = p.compliance[t];
      engine::SourceLocation where =
          t < p.compliance_locations.size() ? p.compliance_locations[t] : p.location;
      auto it = control_of.find(tag);
      if (it == control_of.end()) {
        report.unknown_tags.push_back(TagNote{p.name, tag, where, "", Nearest(catalogue, tag)});
        continue;
      }
      ControlReport& control = report.controls[it->second];
      if (tag != control.control.id) {
        report.alias_tags.push_back(TagNote{p.name, tag, where, control.control.id, ""});
      }
      if (!seen.insert(it->second).second) continue;
      PolicyLink link;
      link.policy = p.name;
      link.tag = tag;
      link.location = where;
      for (const engine::Statement& s : p.statements) link.statements.push_back(s.id);
      if (auto found = tests_of_policy.find(p.name); found != tests_of_policy.end()) {
        for (const auto& [index, l] : found->second) {
          link.tests.push_back(
              TestLink{index, std::vector<std::string>(l.statements.begin(), l.statements.end()),
                       l.decided, l.named});
        }
      }
      control.policies.push_back(std::move(link));
    }
  }

  for (ControlReport& c : report.controls) {
    const std::string& id = c.control.id;
    if (c.policies.empty()) {
      if (c.control.scope == ControlScope::kProcess) {
        c.status = ControlStatus::kOutOfScope;
      } else {
        c.status = ControlStatus::kNoPolicy;
        report.gaps.push_back(
            Gap{"no-policy", id, "", "",
                absl::StrCat("no policy is tagged with ", id, " (", c.control.title, ")")});
      }
      continue;
    }
    bool untested = false, failing = false;
    for (const PolicyLink& p : c.policies) {
      if (p.tests.empty()) {
        untested = true;
        report.gaps.push_back(Gap{"no-test", id, p.policy, "",
                                  absl::StrCat("policy \"", p.policy, "\" (tagged ", id,
                                               ") is decided by no test and named by none")});
      }
      for (const TestLink& l : p.tests) {
        const TestEvidence& t = report.tests[l.test];
        if (t.passed) continue;
        failing = true;
        std::string test = absl::StrCat(t.suite, ": ", t.name);
        report.gaps.push_back(Gap{"failing-test", id, p.policy, test,
                                  absl::StrCat("test \"", test, "\" of policy \"", p.policy,
                                               "\" (tagged ", id, ") fails: ", t.failure)});
      }
    }
    c.status = failing    ? ControlStatus::kFailingTest
               : untested ? ControlStatus::kUntested
                          : ControlStatus::kCovered;
  }
  for (const TagNote& n : report.unknown_tags) {
    report.gaps.push_back(Gap{"unknown-tag", n.tag, n.policy, "", UnknownTagMessage(report, n)});
  }
  return report;
}

std::string UnknownTagMessage(const Report& report, const TagNote& note) {
  std::string message =
      absl::StrCat(Location(note.location), ": policy \"", note.policy, "\": compliance tag \"",
                   note.tag, "\" is not in catalogue \"", report.catalogue_name, "\"");
  if (!note.suggestion.empty())
    absl::StrAppend(&message, " (did you mean \"", note.suggestion, "\"?)");
  return message;
}

std::string AliasTagMessage(const TagNote& note) {
  return absl::StrCat(Location(note.location), ": policy \"", note.policy, "\": compliance tag \"",
                      note.tag, "\" is an alias of \"", note.control,
                      "\" (older numbering, see the catalogue); tag it \"", note.control, "\"");
}

}  // namespace fleetpdp::cli
