#include "engine/parser.h"

#include <exception>
#include <sstream>
#include <string_view>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "engine/absl_compat.h"
#include "engine/conditions.h"
#include "engine/pace.h"
#include "engine/pattern.h"
#include "engine/validate.h"
#include "yaml-cpp/eventhandler.h"
#include "yaml-cpp/yaml.h"

namespace fleetpdp::engine {
namespace {

constexpr absl::string_view kApiVersion = "fleetpdp/v1";

std::string Quote(absl::string_view s) {
  if (s.size() > 80) return absl::StrCat("\"", s.substr(0, 80), "…\"");
  return absl::StrCat("\"", s, "\"");
}

// Turns one YAML document into model objects. yaml-cpp throws on some misuse; every access here
// checks the node type first, and the caller catches what remains at the document edge.
class DocumentParser {
 public:
  // `first_line`: the 0-based line of the file where the text the nodes were loaded from begins.
  DocumentParser(const SourceFile& file, ParsedSources& out, ValidationReport& report,
                 int first_line = 0)
      : file_(file), out_(out), report_(report), first_line_(first_line) {}

  void Parse(const YAML::Node& doc) {
    if (!doc.IsMap()) {
      Error(doc, "a document must be a mapping with apiVersion and kind");
      return;
    }
    std::string kind = Scalar(doc, "kind", /*required=*/true);
    std::string api = Scalar(doc, "apiVersion", /*required=*/true);
    if (!api.empty() && api != kApiVersion) {
      Error(doc["apiVersion"], absl::StrCat("unsupported apiVersion ", Quote(api), " (expected \"",
                                            kApiVersion, "\")"));
    }
    if (kind == "Policy") {
      ParsePolicy(doc);
    } else if (kind == "Entities") {
      ParseEntities(doc);
    } else if (kind == "PolicyTest") {
      ParseTests(doc);
    } else if (!kind.empty()) {
      Error(doc["kind"], absl::StrCat("unknown kind ", Quote(kind),
                                      " (expected Policy, Entities or PolicyTest)"));
    }
  }

 private:
  SourceLocation Loc(const YAML::Node& node) const {
    const YAML::Mark mark = node.Mark();
    if (mark.is_null()) return SourceLocation{file_.path, 0, 0};
    return SourceLocation{file_.path, first_line_ + mark.line + 1, mark.column + 1};
  }

  void Error(const YAML::Node& node, std::string message) {
    SourceLocation loc = Loc(node);
    if (loc.line == 0) loc = last_location_;
    report_.AddError(std::move(loc), std::move(message));
  }

  // Checks that `node` is a map whose keys are all in `allowed` and not repeated. Returns false
  // (after reporting) when it is not a map.
  bool CheckMap(const YAML::Node& node, absl::string_view what,
                std::initializer_list<absl::string_view> allowed) {
    if (!node.IsMap()) {
      Error(node, absl::StrCat(what, " must be a mapping"));
      return false;
    }
    last_location_ = Loc(node);
    absl::flat_hash_set<std::string> seen;
    for (auto it = node.begin(); it != node.end(); ++it) {
      YAML::Node key = it->first;  // a copy: it-> points into a temporary
      if (!key.IsScalar()) {
        Error(key, absl::StrCat("keys in ", what, " must be strings"));
        continue;
      }
      const std::string& name = key.Scalar();
      if (!seen.insert(name).second) {
        Error(key, absl::StrCat("duplicate key ", Quote(name), " in ", what));
      }
      bool known = false;
      for (absl::string_view a : allowed) known = known || a == name;
      if (!known) {
        Error(key, absl::StrCat("unknown key ", Quote(name), " in ", what,
                                " (expected one of: ", absl::StrJoin(allowed, ", "), ")"));
      }
    }
    return true;
  }

  // The location of `key` inside `map` (the key itself), for errors about its value.
  YAML::Node KeyNode(const YAML::Node& map, absl::string_view key) {
    for (auto it = map.begin(); it != map.end(); ++it) {
      if (it->first.IsScalar() && it->first.Scalar() == key) return it->first;
    }
    return map;
  }

  std::string Scalar(const YAML::Node& map, absl::string_view key, bool required) {
    YAML::Node value = map[std::string(key)];
    if (!value.IsDefined() || value.IsNull()) {
      if (required) Error(map, absl::StrCat("missing required key ", Quote(key)));
      return "";
    }
    if (!value.IsScalar()) {
      Error(value, absl::StrCat(Quote(key), " must be a string"));
      return "";
    }
    if (required && value.Scalar().empty()) {
      Error(value, absl::StrCat(Quote(key), " must not be empty"));
    }
    return value.Scalar();
  }

  // A string or a list of strings.
  std::vector<std::string> StringList(const YAML::Node& map, absl::string_view key, bool required) {
    std::vector<std::string> out;
    YAML::Node value = map[std::string(key)];
    if (!value.IsDefined() || value.IsNull()) {
      if (required) Error(map, absl::StrCat("missing required key ", Quote(key)));
      return out;
    }
    if (value.IsScalar()) {
      out.push_back(value.Scalar());
      return out;
    }
    if (!value.IsSequence()) {
      Error(value, absl::StrCat(Quote(key), " must be a string or a list of strings"));
      return out;
    }
    for (const YAML::Node& item : value) {
      if (!item.IsScalar()) {
        Error(item, absl::StrCat("items of ", Quote(key), " must be strings"));
        continue;
      }
      out.push_back(item.Scalar());
    }
    if (required && out.empty() && value.size() == 0) {
      Error(value, absl::StrCat(Quote(key), " must not be empty"));
    }
    return out;
  }

  std::vector<Attribute> Attributes(const YAML::Node& node, absl::string_view what) {
    std::vector<Attribute> out;
    if (!node.IsDefined() || node.IsNull()) return out;
    if (!node.IsMap()) {
      Error(node, absl::StrCat(what, " must be a mapping of names to values"));
      return out;
    }
    absl::flat_hash_set<std::string> seen;
    for (auto it = node.begin(); it != node.end(); ++it) {
      if (!it->first.IsScalar()) {
        Error(it->first, absl::StrCat("keys in ", what, " must be strings"));
        continue;
      }
      Attribute a;
      a.key = it->first.Scalar();
      if (!seen.insert(a.key).second) {
        Error(it->first, absl::StrCat("duplicate key ", Quote(a.key), " in ", what));
      }
      YAML::Node value = it->second;  // a copy: it-> points into a temporary
      if (value.IsScalar()) {
        a.values.push_back(value.Scalar());
      } else if (value.IsSequence()) {
        a.is_list = true;
        for (const YAML::Node& v : value) {
          if (v.IsScalar()) {
            a.values.push_back(v.Scalar());
          } else {
            Error(v, absl::StrCat("values of ", Quote(a.key), " must be strings"));
          }
        }
      } else {
        Error(value, absl::StrCat(Quote(a.key), " in ", what, " must be a string or a list"));
        continue;
      }
      out.push_back(std::move(a));
    }
    return out;
  }

  static bool IsValidId(absl::string_view id) {
    if (id.empty()) return false;
    for (char c : id) {
      bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '-' || c == '_' || c == '.';
      if (!ok) return false;
    }
    return true;
  }

  void CheckId(const YAML::Node& at, absl::string_view what, absl::string_view id) {
    if (!id.empty() && !IsValidId(id)) {
      Error(at, absl::StrCat(what, " ", Quote(id),
                             " may only contain letters, digits, '-', '_' and '.'"));
    }
  }

  // Entity ids are client ids and thing names: anything printable, but never a character that
  // could not stand in a topic level (such an id could never match ${principal.id}).
  void CheckEntityId(const YAML::Node& at, absl::string_view id) {
    for (char c : id) {
      if (c == '/' || c == '+' || c == '#' || static_cast<unsigned char>(c) <= ' ') {
        Error(at, absl::StrCat("entity id ", Quote(id),
                               " may not contain '/', '+', '#', spaces or control characters"));
        return;
      }
    }
  }

  void ParsePolicy(const YAML::Node& doc) {
    if (!CheckMap(doc, "a Policy", {"apiVersion", "kind", "metadata", "spec"})) return;
    Policy policy;
    policy.location = Loc(doc);
    YAML::Node metadata = doc["metadata"];
    if (!metadata.IsDefined()) {
      Error(doc, "missing required key \"metadata\"");
    } else if (CheckMap(metadata, "metadata", {"name", "description", "compliance", "labels"})) {
      policy.name = Scalar(metadata, "name", /*required=*/true);
      CheckId(metadata["name"], "policy name", policy.name);
      policy.compliance = StringList(metadata, "compliance", /*required=*/false);
      // Kept for tools that report on tags (`fleetpdp compliance report`): one location per tag.
      if (YAML::Node tags = metadata["compliance"]; tags.IsSequence()) {
        for (const YAML::Node& tag : tags) {
          if (tag.IsScalar()) policy.compliance_locations.push_back(Loc(tag));
        }
      } else if (tags.IsScalar()) {
        policy.compliance_locations.push_back(Loc(tags));
      }
      if (YAML::Node labels = metadata["labels"]; labels.IsDefined() && !labels.IsMap()) {
        Error(labels, "labels must be a mapping");
      }
    }
    YAML::Node spec = doc["spec"];
    if (!spec.IsDefined()) {
      Error(doc, "missing required key \"spec\"");
    } else if (CheckMap(spec, "spec", {"principals", "statements"})) {
      policy.principals = ParsePrincipals(spec);
      YAML::Node statements = spec["statements"];
      if (!statements.IsDefined() || statements.IsNull()) {
        Error(spec, "missing required key \"statements\"");
      } else if (!statements.IsSequence() || statements.size() == 0) {
        Error(statements, "statements must be a non-empty list");
      } else {
        for (const YAML::Node& s : statements) policy.statements.push_back(ParseStatement(s));
      }
    }
    out_.set.policies.push_back(std::move(policy));
  }

  PrincipalSelector ParsePrincipals(const YAML::Node& spec) {
    PrincipalSelector selector;
    YAML::Node node = spec["principals"];
    if (!node.IsDefined() || node.IsNull()) {
      Error(spec, "missing required key \"principals\" (use \"*\" to apply to everyone)");
      return selector;
    }
    selector.location = Loc(node);
    if (node.IsScalar()) {
      if (node.Scalar() == "*") {
        selector.any = true;
      } else {
        Error(node, absl::StrCat("principals must be \"*\" or a mapping with ids, groups or "
                                 "attributes, not ",
                                 Quote(node.Scalar())));
      }
      return selector;
    }
    if (!CheckMap(node, "principals", {"ids", "groups", "attributes"})) return selector;
    selector.ids = StringList(node, "ids", /*required=*/false);
    selector.groups = StringList(node, "groups", /*required=*/false);
    for (Attribute& a : Attributes(node["attributes"], "principals.attributes")) {
      if (a.is_list || a.values.size() != 1) {
        Error(node["attributes"],
              absl::StrCat("principal attribute ", Quote(a.key), " must be a single value"));
        continue;
      }
      selector.attributes.emplace_back(std::move(a.key), std::move(a.values.front()));
    }
    if (selector.ids.empty() && selector.groups.empty() && selector.attributes.empty()) {
      Error(node, "principals selects nobody: give ids, groups or attributes, or \"*\"");
    }
    return selector;
  }

  static bool IsValidAction(absl::string_view action) {
    if (action == "*") return true;
    size_t star = action.find('*');
    if (star != absl::string_view::npos && star != action.size() - 1) return false;
    absl::string_view body =
        action.substr(0, star == absl::string_view::npos ? action.size() : star);
    if (body.empty()) return false;
    // "namespace:name": a colon that is neither first nor last (a trailing '*' may follow it).
    size_t colon = body.find(':');
    if (colon == 0 || colon == absl::string_view::npos ||
        (colon == body.size() - 1 && star == absl::string_view::npos)) {
      return false;
    }
    for (char c : body) {
      bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '-' || c == '_' || c == '.' || c == ':';
      if (!ok) return false;
    }
    return true;
  }

  Statement ParseStatement(const YAML::Node& node) {
    Statement s;
    s.location = Loc(node);
    if (!CheckMap(node, "a statement",
                  {"id", "effect", "actions", "resources", "conditions", "description"})) {
      return s;
    }
    s.id = Scalar(node, "id", /*required=*/true);
    CheckId(node["id"], "statement id", s.id);
    std::string effect = Scalar(node, "effect", /*required=*/true);
    if (effect == "allow") {
      s.effect = Effect::kAllow;
    } else if (effect == "deny") {
      s.effect = Effect::kDeny;
    } else if (!effect.empty()) {
      Error(node["effect"],
            absl::StrCat("effect must be \"allow\" or \"deny\", not ", Quote(effect)));
    }
    s.actions = StringList(node, "actions", /*required=*/true);
    for (size_t i = 0; i < s.actions.size(); ++i) {
      if (!IsValidAction(s.actions[i])) {
        Error(ItemNode(node["actions"], i),
              absl::StrCat("invalid action ", Quote(s.actions[i]),
                           " (expected \"namespace:name\", optionally ending in \"*\")"));
      }
    }
    s.resources = StringList(node, "resources", /*required=*/true);
    for (size_t i = 0; i < s.resources.size(); ++i) {
      absl::StatusOr<ResourcePattern> p = ParseResourcePattern(s.resources[i]);
      if (!p.ok()) Error(ItemNode(node["resources"], i), std::string(p.status().message()));
    }
    YAML::Node conditions = node["conditions"];
    if (conditions.IsDefined() && !conditions.IsNull()) {
      if (!conditions.IsMap()) {
        Error(conditions, "conditions must be a mapping of operators to { attribute: values }");
      } else {
        absl::flat_hash_set<std::string> operators;
        for (auto it = conditions.begin(); it != conditions.end(); ++it) {
          if (it->first.IsScalar() && !operators.insert(it->first.Scalar()).second) {
            Error(it->first, absl::StrCat("duplicate key ", Quote(it->first.Scalar()),
                                          " in conditions (list several values instead)"));
            continue;
          }
          ParseOperator(it->first, it->second, s.conditions);
        }
      }
    }
    return s;
  }

  static YAML::Node ItemNode(const YAML::Node& list, size_t i) {
    if (list.IsSequence() && i < list.size()) return list[i];
    return list;
  }

  void ParseOperator(const YAML::Node& key, const YAML::Node& body, std::vector<Condition>& out) {
    if (!key.IsScalar()) {
      Error(key, "condition operators must be strings");
      return;
    }
    absl::string_view name = key.Scalar();
    Quantifier quantifier = Quantifier::kSingle;
    if (absl::ConsumePrefix(&name, "ForAnyValue:")) {
      quantifier = Quantifier::kForAnyValue;
    } else if (absl::ConsumePrefix(&name, "ForAllValues:")) {
      quantifier = Quantifier::kForAllValues;
    }
    if (!body.IsMap() || body.size() == 0) {
      Error(body.IsNull() ? key : body,
            absl::StrCat("operator ", Quote(key.Scalar()), " must map attribute paths to values"));
      return;
    }
    const OperatorInfo* op = FindOperator(Std(name));
    if (op == nullptr) {
      Error(key, UnknownOperatorMessage(Std(name)));
      return;
    }
    if (op->type == OperatorType::kExists && quantifier != Quantifier::kSingle) {
      Error(key, "Exists takes no ForAnyValue:/ForAllValues: qualifier");
      return;
    }
    absl::flat_hash_set<std::string> paths;
    for (auto it = body.begin(); it != body.end(); ++it) {
      Condition c;
      c.quantifier = quantifier;
      c.op = std::string(name);
      c.location = Loc(it->first);
      if (!it->first.IsScalar()) {
        Error(it->first, "attribute paths must be strings");
        continue;
      }
      c.key = it->first.Scalar();
      if (!paths.insert(c.key).second) {
        Error(it->first, absl::StrCat("duplicate key ", Quote(c.key), " in ", Quote(key.Scalar()),
                                      " (list several values instead)"));
        continue;
      }
      absl::StatusOr<AttributePath> path = ParseAttributePath(c.key, /*for_variable=*/false);
      if (!path.ok()) {
        Error(it->first, std::string(path.status().message()));
        continue;
      }
      if (path->root == AttributePath::kPrincipalGroups && quantifier == Quantifier::kSingle &&
          op->type != OperatorType::kExists) {
        Error(key,
              "principal.groups is a list: qualify the operator with ForAnyValue: or "
              "ForAllValues:");
        continue;
      }
      YAML::Node values = it->second;  // a copy: it-> points into a temporary
      if (values.IsScalar()) {
        c.values.push_back(values.Scalar());
      } else if (values.IsSequence()) {
        for (const YAML::Node& v : values) {
          if (v.IsScalar()) {
            c.values.push_back(v.Scalar());
          } else {
            Error(v, "condition values must be strings, numbers or booleans");
          }
        }
      } else {
        Error(values.IsNull() ? it->first : values,
              absl::StrCat("condition on ", Quote(c.key), " needs a value or a list of values"));
        continue;
      }
      // What remains is about the values (or the path's kind, e.g. principal.groups needing a
      // qualifier): report it at the attribute path.
      absl::StatusOr<CompiledCondition> compiled = CompileCondition(c);
      if (!compiled.ok()) Error(it->first, std::string(compiled.status().message()));
      out.push_back(std::move(c));
    }
  }

  void ParseEntities(const YAML::Node& doc) {
    if (!CheckMap(doc, "an Entities document",
                  {"apiVersion", "kind", "metadata", "groups", "devices", "services", "users"})) {
      return;
    }
    if (YAML::Node metadata = doc["metadata"]; metadata.IsDefined()) {
      if (CheckMap(metadata, "metadata", {"name", "description", "labels"})) {
        if (YAML::Node name = metadata["name"]; name.IsDefined() && !name.IsScalar()) {
          Error(name, "\"name\" must be a string");
        }
      }
    }
    if (YAML::Node groups = doc["groups"]; groups.IsDefined() && !groups.IsNull()) {
      if (!groups.IsSequence()) {
        Error(groups, "groups must be a list");
      } else {
        for (const YAML::Node& g : groups) {
          Group group;
          group.location = Loc(g);
          if (!CheckMap(g, "a group", {"id", "parents", "description"})) continue;
          group.id = Scalar(g, "id", /*required=*/true);
          CheckId(g["id"], "group id", group.id);
          group.parents = StringList(g, "parents", /*required=*/false);
          out_.set.groups.push_back(std::move(group));
        }
      }
    }
    for (absl::string_view section : {"devices", "services", "users"}) {
      YAML::Node list = doc[std::string(section)];
      if (!list.IsDefined() || list.IsNull()) continue;
      if (!list.IsSequence()) {
        Error(list, absl::StrCat(section, " must be a list"));
        continue;
      }
      std::string type(section.substr(0, section.size() - 1));  // "devices" → "device"
      size_t count = 0;
      for (const YAML::Node& e : list) {
        PaceEvery(count++, 1024);
        Entity entity;
        entity.type = type;
        entity.location = Loc(e);
        if (!CheckMap(e, "an entity", {"id", "groups", "attributes", "description"})) continue;
        entity.id = Scalar(e, "id", /*required=*/true);
        CheckEntityId(e["id"], entity.id);
        entity.groups = StringList(e, "groups", /*required=*/false);
        entity.attributes = Attributes(e["attributes"], "attributes");
        out_.set.entities.push_back(std::move(entity));
      }
    }
  }

  void ParseTests(const YAML::Node& doc) {
    if (!CheckMap(doc, "a PolicyTest", {"apiVersion", "kind", "metadata", "cases"})) return;
    std::string suite;
    if (YAML::Node metadata = doc["metadata"]; !metadata.IsDefined()) {
      suite = file_.path;  // a suite without a name is known by its file
    } else if (CheckMap(metadata, "metadata", {"name", "description"})) {
      suite = Scalar(metadata, "name", /*required=*/true);
    }
    YAML::Node cases = doc["cases"];
    if (!cases.IsDefined() || !cases.IsSequence() || cases.size() == 0) {
      Error(cases.IsDefined() ? cases : doc, "cases must be a non-empty list");
      return;
    }
    for (const YAML::Node& c : cases) {
      TestCase t;
      t.suite = suite;
      t.location = Loc(c);
      if (!CheckMap(c, "a test case",
                    {"name", "principal", "action", "resource", "context", "expect", "reason",
                     "statements"})) {
        continue;
      }
      t.name = Scalar(c, "name", /*required=*/true);
      if (YAML::Node p = c["principal"]; !p.IsDefined()) {
        Error(c, "missing required key \"principal\"");
      } else if (p.IsScalar()) {
        t.request.principal.id = p.Scalar();
      } else if (CheckMap(p, "principal", {"id", "type", "groups", "attributes"})) {
        t.request.principal.id = Scalar(p, "id", /*required=*/true);
        t.request.principal.type = Scalar(p, "type", /*required=*/false);
        t.request.principal.groups = StringList(p, "groups", /*required=*/false);
        t.request.principal.attributes = Attributes(p["attributes"], "principal.attributes");
      }
      t.request.action = Scalar(c, "action", /*required=*/true);
      t.request.resource = Scalar(c, "resource", /*required=*/true);
      t.request.context = Attributes(c["context"], "context");
      std::string expect = Scalar(c, "expect", /*required=*/true);
      if (expect == "allow") {
        t.expect_allow = true;
      } else if (expect != "deny" && !expect.empty()) {
        Error(c["expect"],
              absl::StrCat("expect must be \"allow\" or \"deny\", not ", Quote(expect)));
      }
      std::string reason = Scalar(c, "reason", /*required=*/false);
      if (reason == "ALLOWED") {
        t.expect_reason = Reason::kAllowed;
      } else if (reason == "EXPLICIT_DENY") {
        t.expect_reason = Reason::kExplicitDeny;
      } else if (reason == "DEFAULT_DENY") {
        t.expect_reason = Reason::kDefaultDeny;
      } else if (!reason.empty()) {
        Error(c["reason"],
              absl::StrCat("reason must be ALLOWED, EXPLICIT_DENY or DEFAULT_DENY, not ",
                           Quote(reason)));
      }
      if (c["statements"].IsDefined()) {
        t.expect_statements = StringList(c, "statements", /*required=*/false);
      }
      out_.tests.push_back(std::move(t));
    }
  }

  const SourceFile& file_;
  ParsedSources& out_;
  ValidationReport& report_;
  const int first_line_;
  SourceLocation last_location_;  // for nodes that carry no mark
};

// yaml-cpp 0.7's LoadAll never returns (and allocates without bound) when a document is followed
// by a token no document can start with, e.g. "{},": the parser reports an empty document at the
// same place again and again. This pass runs the parser without building nodes and finds the place
// where a document starts where the previous one did, so LoadAll is not called on such text.
class ProgressCheck : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark& mark) override {
    PacePoint();
    stuck_ = started_ && mark.pos == last_.pos;
    started_ = true;
    last_ = mark;
    starts_.push_back(mark);
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    PaceEvery(maps_++, 1024);  // a registry of a million devices is one document
  }
  void OnMapEnd() override {}

  bool stuck() const { return stuck_; }
  const YAML::Mark& mark() const { return last_; }
  // Where each document starts: its "---", or its first token.
  const std::vector<YAML::Mark>& starts() const { return starts_; }

 private:
  bool started_ = false;
  bool stuck_ = false;
  size_t maps_ = 0;
  YAML::Mark last_;
  std::vector<YAML::Mark> starts_;
};

// Document i of `text` (0-based) as its own text: from where it starts (starts[i], its "---" or
// first token; the file's start for i = 0) to where the next one starts, with the 0-based line it
// begins on. Empty when the file cannot be cut so (see DocumentSplit): one document only, a
// directive (it applies to the document after it, which a cut would separate it from), or a
// document that does not start a line.
struct Slice {
  std::string_view text;
  int first_line;
};
std::vector<Slice> DocumentSlices(std::string_view text, const std::vector<YAML::Mark>& starts) {
  if (starts.size() < 2 || text.starts_with('%') || text.find("\n%") != std::string_view::npos) {
    return {};
  }
  std::vector<Slice> slices;
  slices.reserve(starts.size());
  size_t begin = 0;
  int line = 0;
  for (size_t i = 1; i <= starts.size(); ++i) {
    size_t end = text.size();
    if (i < starts.size()) {
      if (starts[i].column != 0 || starts[i].pos < 0) return {};
      end = static_cast<size_t>(starts[i].pos);
      if (end < begin || end > text.size()) return {};
    }
    slices.push_back(Slice{text.substr(begin, end - begin), line});
    if (i < starts.size()) {
      begin = end;
      line = starts[i].line;
    }
  }
  return slices;
}

}  // namespace

void ParseFile(const SourceFile& file, ParsedSources& out, ValidationReport& report,
               DocumentSplit split) {
  std::vector<Slice> slices;
  std::vector<YAML::Node> documents;  // when not sliced
  try {
    std::istringstream stream(file.text);
    YAML::Parser parser(stream);
    ProgressCheck check;
    while (parser.HandleNextDocument(check) && !check.stuck()) {
    }
    if (check.stuck()) {
      const YAML::Mark& at = check.mark();
      const size_t pos = static_cast<size_t>(at.pos);
      report.AddError(SourceLocation{file.path, at.line + 1, at.column + 1},
                      pos < file.text.size()
                          ? absl::StrCat("unexpected ", Quote(file.text.substr(pos, 1)),
                                         " where a document should start")
                          : "unexpected end where a document should start");
      return;
    }
    if (split == DocumentSplit::kPerDocument) slices = DocumentSlices(file.text, check.starts());
    if (slices.empty()) documents = YAML::LoadAll(file.text);
  } catch (const YAML::ParserException& e) {
    report.AddError(SourceLocation{file.path, e.mark.line + 1, e.mark.column + 1}, e.msg);
    return;
  } catch (const std::exception& e) {
    report.AddError(SourceLocation{file.path, 0, 0}, absl::StrCat("cannot parse: ", e.what()));
    return;
  }
  if (documents.empty() && slices.empty()) {
    report.AddError(SourceLocation{file.path, 0, 0}, "file holds no document");
    return;
  }
  bool any = false;
  auto parse = [&](const YAML::Node& doc, int first_line) {
    if (doc.IsNull()) return;  // an empty document between "---" separators
    any = true;
    try {
      DocumentParser(file, out, report, first_line).Parse(doc);
    } catch (const std::exception& e) {
      // A shape the checks above did not foresee: report it rather than crash.
      const YAML::Mark mark = doc.Mark();
      report.AddError(SourceLocation{file.path, first_line + mark.line + 1, mark.column + 1},
                      absl::StrCat("malformed document: ", e.what()));
    }
  };
  for (const Slice& slice : slices) {
    PacePoint();
    YAML::Node doc;
    try {
      doc = YAML::Load(std::string(slice.text));
    } catch (const YAML::ParserException& e) {  // the whole text parsed above: not expected
      report.AddError(
          SourceLocation{file.path, slice.first_line + e.mark.line + 1, e.mark.column + 1}, e.msg);
      continue;
    } catch (const std::exception& e) {
      report.AddError(SourceLocation{file.path, slice.first_line + 1, 1},
                      absl::StrCat("cannot parse: ", e.what()));
      continue;
    }
    parse(doc, slice.first_line);
  }
  for (const YAML::Node& doc : documents) {
    PacePoint();
    parse(doc, 0);
  }
  if (!any) report.AddError(SourceLocation{file.path, 0, 0}, "file holds no document");
  ClearPaced(documents, 16);
}

ValidationReport ParseSources(absl::Span<const SourceFile> files, ParsedSources& out) {
  ValidationReport report;
  for (const SourceFile& file : files) ParseFile(file, out, report);
  Validate(out.set, report);
  return report;
}

}  // namespace fleetpdp::engine
