#include "engine/lint.h"

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "engine/absl_compat.h"
#include "engine/conditions.h"
#include "engine/pattern.h"
#include "engine/request.h"
#include "engine/topic.h"
#include "engine/values.h"

namespace fleetpdp::engine {
namespace {

using S = Severity;

// The rule table. Ids are stable: a retired rule keeps its id unused.
constexpr LintRule kRules[] = {
    {"FPL001", "allow-all-topics", S::kCritical,
     "allow on a pattern of wildcards only (\"#\", \"+/#\", \"+/+/#\", …) for mqtt:publish, "
     "mqtt:subscribe or mqtt:receive",
     "The statement lets every principal its policy selects publish to, subscribe to or receive "
     "every topic (of that many levels), whatever its names: other devices' telemetry and "
     "commands included. Scope the pattern to the principal, e.g. "
     "\"devices/${principal.id}/#\"."},
    {"FPL002", "allow-wildcard-action", S::kHigh,
     R"(allow with an action covering every MQTT action ("*" or "mqtt:*"))",
     "\"mqtt:*\" grants connect, publish, subscribe, receive and retain at once, and \"*\" every "
     "application action too, including ones added later. List the actions the principals need."},
    {"FPL003", "connect-any-client-id", S::kHigh,
     "allow on mqtt:connect for a wildcard client id not bound to ${principal.id}",
     "For mqtt:connect the resource is the client id. A pattern such as \"+\" or \"#\" lets a "
     "principal connect under any client id, including another device's: it takes over that "
     "device's session and, with per-id topic patterns, its topics. Use \"${principal.id}\"."},
    {"FPL004", "broad-system-topics", S::kHigh,
     "allow on a whole \"$\" system tree (\"$SYS/#\", \"$aws/+/#\", …)",
     "Topics starting with '$' belong to the broker or the platform (statistics, client lists, "
     "shadows, jobs). Wildcards in the first level never reach them, so a pattern like \"$SYS/#\" "
     "opens them on purpose: grant the few topics needed instead of the tree."},
    {"FPL005", "allow-shadowed-by-deny", S::kMedium,
     "allow that can never apply: a deny without conditions covers its principals, actions and "
     "resources",
     "A deny always wins. When a deny selects every principal the allow selects, covers each of "
     "its actions and contains each of its resource patterns, and has no conditions (or only "
     "conditions the allow also has), the allow is dead code: remove it or narrow the deny."},
    {"FPL006", "unknown-principal-reference", S::kLow,
     "principal selector names an id or group that no Entities document declares",
     "Ids are checked when the bundle lists entities, groups when it declares groups. Selectors "
     "may name ids and groups that only "
     "requests carry, so this is not an error; but a misspelt group selects nobody the bundle "
     "knows, silently. Declare the group or entity, or fix the name."},
    {"FPL007", "unsatisfiable-conditions", S::kMedium,
     "conditions of one statement that can never hold together",
     "E.g. StringEquals and StringNotEquals of the same value, NumericLessThan 5 with "
     "NumericGreaterThan 10, a DateGreaterThan after the DateLessThan, SemverAtLeast at or above "
     "SemverBelow, an IpAddress block inside the NotIpAddress blocks, or Exists: false next to a "
     "test of the same attribute. An allow with such conditions never applies; a deny applies "
     "only when the attribute is missing (an undecidable condition lets a deny apply)."},
    {"FPL008", "receive-deny-without-subscribe-deny", S::kHigh,
     "deny on mqtt:receive, not mqtt:subscribe, for topics an allowed SUBSCRIBE can cover",
     "A subscribe is refused only by a deny on mqtt:subscribe. A deny on mqtt:receive alone lets "
     "the SUBSCRIBE through and relies on the broker asking again for every delivered message: "
     "brokers that authorize only PUBLISH and SUBSCRIBE (EMQX's HTTP authorization, most cloud "
     "brokers) deliver the denied topics. Deny mqtt:subscribe and mqtt:receive together."},
    {"FPL009", "conditional-subscribe-deny", S::kMedium,
     "deny on mqtt:subscribe with conditions, not on mqtt:receive, for topics an allow lets the "
     "principal receive",
     "A SUBSCRIBE is checked once, when it is made; the subscription then lasts. A deny that "
     "depends on conditions (a time window, the source address, an attribute) stops only the "
     "SUBSCRIBEs made while it applies: a subscription made before keeps delivering, checked "
     "only against mqtt:receive, which an allow grants. Add mqtt:receive to the deny."},
    {"FPL010", "literal-star-in-resource", S::kMedium,
     "\"*\" in a resource pattern, where it is a literal character and not a wildcard",
     "Resources follow MQTT semantics: '+' matches one level and '#' the rest; '*' (the IAM and "
     "AWS IoT wildcard) only matches a '*' in the topic or client id. A deny written with '*' "
     "denies almost nothing; an allow almost nothing. Use '+' or '#'."},
    {"FPL011", "deny-pattern-with-variable", S::kMedium,
     "deny pattern with a ${…} variable other than ${principal.id}",
     "A variable without a value (or with a value holding '/', '+' or '#') makes the whole "
     "pattern match nothing, for denies as for allows. A principal without the attribute or "
     "context value is then simply not denied. Keep deny patterns free of such variables, or "
     "give the matching allows an Exists condition on the same value."},
};

constexpr std::string_view kSeverityNames[] = {"critical", "high", "medium", "low", "info"};

const LintRule& Rule(std::string_view id) { return *FindLintRule(id); }

// ---- actions ----------------------------------------------------------------------------------

// Whether the statement action `pattern` (exact, or with a trailing '*') covers `action`.
bool ActionCovers(std::string_view pattern, std::string_view action) {
  if (pattern.ends_with('*')) return action.starts_with(pattern.substr(0, pattern.size() - 1));
  return pattern == action;
}

// Whether every action `inner` (itself exact or starred) covers is covered by `outer`.
bool ActionPatternCovers(std::string_view outer, std::string_view inner) {
  if (inner.ends_with('*')) {
    return outer.ends_with('*') &&
           inner.substr(0, inner.size() - 1).starts_with(outer.substr(0, outer.size() - 1));
  }
  return ActionCovers(outer, inner);
}

bool Covers(const Statement& s, std::string_view action) {
  return std::any_of(s.actions.begin(), s.actions.end(),
                     [&](const std::string& a) { return ActionCovers(a, action); });
}

// The actions of `candidates` that `s` covers, joined for a message: "mqtt:publish, mqtt:receive".
std::string CoveredList(const Statement& s, std::initializer_list<std::string_view> candidates) {
  std::vector<std::string> out;
  for (std::string_view a : candidates) {
    if (Covers(s, a)) out.emplace_back(a);
  }
  return absl::StrJoin(out, ", ");
}

// ---- resource patterns ------------------------------------------------------------------------

std::string TemplateText(const Template& parts) {
  std::string text;
  for (const TemplatePart& p : parts) {
    absl::StrAppend(&text,
                    p.is_variable ? absl::StrCat("${", p.variable.ToString(), "}") : p.literal);
  }
  return text;
}

// A resource pattern as levels for the filter functions of topic.h, with each ${…} level
// replaced by a stand-in:
//   - kOpaque: a token no topic level can equal (it holds a NUL), the same for the same template
//     text. Two patterns then compare as they do for every request where both resolve: a '+'
//     contains the token, a literal neither contains it nor is contained by it. Sound for
//     "contains" (used to prove a statement dead).
//   - kAnyLevel: '+', i.e. the variable may take any one-level value. Over-approximates
//     "overlaps" (used to find possible holes).
// Either way a template whose text starts with '$' stays a '$' level (the '$' rule of topic.h).
enum class VariableMode { kOpaque, kAnyLevel };

// Move-only: `levels` views the strings `storage` holds, which a move of the vector keeps in place.
struct PatternLevels {
  PatternLevels() = default;
  PatternLevels(PatternLevels&&) = default;
  PatternLevels& operator=(PatternLevels&&) = default;
  std::vector<std::string> storage;
  Levels levels;  // views into storage
};

PatternLevels ToLevels(const ResourcePattern& p, VariableMode mode) {
  PatternLevels out;
  out.storage.reserve(p.levels.size());
  for (const PatternLevel& level : p.levels) {
    switch (level.kind) {
      case PatternLevel::kLiteral:
        out.storage.push_back(level.literal);
        break;
      case PatternLevel::kPlus:
        out.storage.emplace_back("+");
        break;
      case PatternLevel::kHash:
        out.storage.emplace_back("#");
        break;
      case PatternLevel::kTemplate: {
        std::string text = TemplateText(level.parts);
        bool dollar = !level.parts.empty() && !level.parts.front().is_variable &&
                      level.parts.front().literal.starts_with('$');
        if (mode == VariableMode::kAnyLevel && !dollar) {
          out.storage.emplace_back("+");
        } else {
          out.storage.push_back(absl::StrCat(dollar ? "$" : "", std::string(1, '\0'), text));
        }
        break;
      }
    }
  }
  for (const std::string& s : out.storage) out.levels.push_back(s);
  return out;
}

bool OnlyWildcards(const ResourcePattern& p) {
  return std::all_of(p.levels.begin(), p.levels.end(), [](const PatternLevel& l) {
    return l.kind == PatternLevel::kPlus || l.kind == PatternLevel::kHash;
  });
}

bool HasWildcard(const ResourcePattern& p) {
  return std::any_of(p.levels.begin(), p.levels.end(), [](const PatternLevel& l) {
    return l.kind == PatternLevel::kPlus || l.kind == PatternLevel::kHash;
  });
}

// The variables of a pattern, in order of appearance.
std::vector<AttributePath> Variables(const ResourcePattern& p) {
  std::vector<AttributePath> out;
  for (const PatternLevel& level : p.levels) {
    for (const TemplatePart& part : level.parts) {
      if (part.is_variable) out.push_back(part.variable);
    }
  }
  return out;
}

bool HasLiteralStar(const ResourcePattern& p) {
  for (const PatternLevel& level : p.levels) {
    if (level.kind == PatternLevel::kLiteral && level.literal.find('*') != std::string::npos) {
      return true;
    }
    for (const TemplatePart& part : level.parts) {
      if (!part.is_variable && part.literal.find('*') != std::string::npos) return true;
    }
  }
  return false;
}

// ---- the bundle, prepared once ----------------------------------------------------------------

struct StatementInfo {
  const Policy* policy = nullptr;
  const Statement* statement = nullptr;
  std::vector<ResourcePattern> resources;     // those that parse
  std::vector<PatternLevels> opaque;          // parallel to `resources`, VariableMode::kOpaque
  std::vector<PatternLevels> any_level;       // parallel to `resources`, VariableMode::kAnyLevel
  std::vector<CompiledCondition> conditions;  // parallel to `condition_sources`
  std::vector<const Condition*> condition_sources;
  std::string Name() const { return absl::StrCat(policy->name, "/", statement->id); }
  std::string Where() const {
    return absl::StrCat(statement->location.file, ":", statement->location.line);
  }
};

class Linter {
 public:
  explicit Linter(const PolicySet& set) : set_(set) {
    for (const Policy& p : set.policies) {
      for (const Statement& s : p.statements) {
        StatementInfo info;
        info.policy = &p;
        info.statement = &s;
        for (const std::string& r : s.resources) {
          absl::StatusOr<ResourcePattern> parsed = ParseResourcePattern(r);
          if (!parsed.ok()) continue;
          info.opaque.push_back(ToLevels(*parsed, VariableMode::kOpaque));
          info.any_level.push_back(ToLevels(*parsed, VariableMode::kAnyLevel));
          info.resources.push_back(*std::move(parsed));
        }
        for (const Condition& c : s.conditions) {
          absl::StatusOr<CompiledCondition> compiled = CompileCondition(c);
          if (!compiled.ok()) continue;
          info.conditions.push_back(*std::move(compiled));
          info.condition_sources.push_back(&c);
        }
        statements_.push_back(std::move(info));
      }
    }
    // Each declared group's closure: itself and every ancestor (the hierarchy has no cycle after
    // validation; the `seen` set keeps this finite even if it had one).
    absl::flat_hash_map<std::string, const Group*> groups;
    for (const Group& g : set.groups) groups.emplace(g.id, &g);
    for (const Group& g : set.groups) {
      absl::flat_hash_set<std::string>& closure = ancestors_[g.id];
      std::vector<std::string> stack = {g.id};
      while (!stack.empty()) {
        std::string id = std::move(stack.back());
        stack.pop_back();
        if (!closure.insert(id).second) continue;
        if (auto it = groups.find(id); it != groups.end()) {
          for (const std::string& parent : it->second->parents) stack.push_back(parent);
        }
      }
    }
    for (const Entity& e : set.entities) entities_.emplace(e.id, &e);
    // Denies by the first level of their patterns, for CheckShadowed: a pattern starting with a
    // literal contains only patterns starting with the same literal.
    for (const StatementInfo& s : statements_) {
      if (s.statement->effect != Effect::kDeny) continue;
      bool any_first = std::any_of(
          s.resources.begin(), s.resources.end(),
          [](const ResourcePattern& p) { return p.levels[0].kind != PatternLevel::kLiteral; });
      if (any_first) {
        denies_any_first_.push_back(&s);
        continue;
      }
      absl::flat_hash_set<std::string> firsts;
      for (const ResourcePattern& p : s.resources) firsts.insert(p.levels[0].literal);
      for (const std::string& first : firsts) denies_by_first_[first].push_back(&s);
    }
  }

  std::vector<LintFinding> Run() {
    for (const StatementInfo& s : statements_) {
      if (s.statement->effect == Effect::kAllow) {
        CheckAllowAllTopics(s);
        CheckWildcardAction(s);
        CheckConnectAnyClientId(s);
        CheckSystemTopics(s);
        CheckShadowed(s);
      } else {
        CheckReceiveDenyWithoutSubscribe(s);
        CheckConditionalSubscribeDeny(s);
        CheckDenyVariables(s);
      }
      CheckLiteralStar(s);
      CheckConditions(s);
    }
    CheckUnknownPrincipals();
    return std::move(findings_);
  }

 private:
  void Add(std::string_view rule, std::string message, const StatementInfo& s,
           const SourceLocation* location = nullptr) {
    findings_.push_back(LintFinding{&Rule(rule), std::move(message), s.policy->name,
                                    s.statement->id,
                                    location != nullptr ? *location : s.statement->location});
  }

  // FPL001.
  void CheckAllowAllTopics(const StatementInfo& s) {
    std::string actions = CoveredList(*s.statement, {kPublish, kSubscribe, kReceive});
    if (actions.empty()) return;
    static const Levels kEverything = SplitLevels("#");
    for (const ResourcePattern& p : s.resources) {
      if (!OnlyWildcards(p)) continue;
      PatternLevels levels = ToLevels(p, VariableMode::kOpaque);
      std::string reach;
      if (FilterContains(levels.levels, kEverything)) {
        reach = "matches every topic (all but \"$\" topics)";
      } else {
        size_t plus = p.levels.size() - (p.levels.back().kind == PatternLevel::kHash ? 1 : 0);
        reach = absl::StrCat("matches every topic of ",
                             p.levels.back().kind == PatternLevel::kHash ? "at least " : "exactly ",
                             plus, plus == 1 ? " level" : " levels", ", whatever its names");
      }
      Add("FPL001", absl::StrCat("allow on \"", p.text, "\" ", reach, " for ", actions), s);
    }
  }

  // FPL002.
  void CheckWildcardAction(const StatementInfo& s) {
    for (const std::string& a : s.statement->actions) {
      bool all_mqtt = true;
      for (std::string_view mqtt : {kConnect, kPublish, kSubscribe, kReceive, kRetain}) {
        all_mqtt = all_mqtt && ActionCovers(a, mqtt);
      }
      if (!all_mqtt) continue;
      Add("FPL002",
          absl::StrCat("allow with action \"", a, "\" grants every MQTT action",
                       a == "*" ? " and every application action" : "",
                       " (connect, publish, subscribe, receive, retain); list the actions needed"),
          s);
    }
  }

  // FPL003.
  void CheckConnectAnyClientId(const StatementInfo& s) {
    if (!Covers(*s.statement, kConnect)) return;
    for (const ResourcePattern& p : s.resources) {
      if (!HasWildcard(p)) continue;
      std::vector<AttributePath> vars = Variables(p);
      if (std::any_of(vars.begin(), vars.end(), [](const AttributePath& v) {
            return v.root == AttributePath::kPrincipalId;
          })) {
        continue;
      }
      Add("FPL003",
          absl::StrCat("allow on mqtt:connect with client id pattern \"", p.text,
                       "\" lets a principal connect as other clients, not only as itself; bind "
                       "it to \"${principal.id}\""),
          s);
    }
  }

  // FPL004.
  void CheckSystemTopics(const StatementInfo& s) {
    std::string actions = CoveredList(*s.statement, {kPublish, kSubscribe, kReceive, kRetain});
    if (actions.empty()) return;
    for (const ResourcePattern& p : s.resources) {
      if (p.levels.size() < 2 || p.levels[0].kind != PatternLevel::kLiteral ||
          !p.levels[0].literal.starts_with('$')) {
        continue;
      }
      bool rest_wild = std::all_of(p.levels.begin() + 1, p.levels.end(), [](const PatternLevel& l) {
        return l.kind == PatternLevel::kPlus || l.kind == PatternLevel::kHash;
      });
      if (!rest_wild) continue;
      Add("FPL004",
          absl::StrCat("allow on \"", p.text, "\" opens the \"", p.levels[0].literal,
                       "\" system tree to ", actions, "; grant the topics needed instead"),
          s);
    }
  }

  // Whether `outer` selects every principal `inner` selects, whatever requests add: groups and
  // attributes from the bundle are authoritative, a request can only add to them.
  bool SelectorContains(const PrincipalSelector& outer, const PrincipalSelector& inner) const {
    if (outer.any) return true;
    if (inner.any) return false;
    for (const auto& pair : outer.attributes) {
      if (std::find(inner.attributes.begin(), inner.attributes.end(), pair) ==
          inner.attributes.end()) {
        return false;
      }
    }
    if (outer.ids.empty() && outer.groups.empty()) return true;
    if (inner.ids.empty() && inner.groups.empty()) return false;
    auto in_outer_groups = [&](const std::string& group) {
      auto it = ancestors_.find(group);
      if (it == ancestors_.end()) {  // undeclared: only itself
        return std::find(outer.groups.begin(), outer.groups.end(), group) != outer.groups.end();
      }
      return std::any_of(outer.groups.begin(), outer.groups.end(),
                         [&](const std::string& g) { return it->second.contains(g); });
    };
    for (const std::string& id : inner.ids) {
      if (std::find(outer.ids.begin(), outer.ids.end(), id) != outer.ids.end()) continue;
      auto entity = entities_.find(id);
      if (entity == entities_.end() ||
          !std::any_of(entity->second->groups.begin(), entity->second->groups.end(),
                       in_outer_groups)) {
        return false;
      }
    }
    return std::all_of(inner.groups.begin(), inner.groups.end(), in_outer_groups);
  }

  // Whether some principal may be selected by both (over-approximated: requests may add groups).
  static bool MaySelectCommon(const PrincipalSelector& a, const PrincipalSelector& b) {
    if (a.any || b.any) return true;
    for (const auto& [key, value] : a.attributes) {
      for (const auto& [other_key, other_value] : b.attributes) {
        if (key == other_key && value != other_value) return false;
      }
    }
    if (a.groups.empty() && b.groups.empty() && !a.ids.empty() && !b.ids.empty()) {
      return std::any_of(a.ids.begin(), a.ids.end(), [&](const std::string& id) {
        return std::find(b.ids.begin(), b.ids.end(), id) != b.ids.end();
      });
    }
    return true;
  }

  static bool SameCondition(const Condition& a, const Condition& b) {
    return a.quantifier == b.quantifier && a.op == b.op && a.key == b.key && a.values == b.values;
  }

  // FPL005: REQUIRES `allow` is an allow.
  void CheckShadowed(const StatementInfo& allow) {
    // Cheapest tests first: this runs for every (allow, deny) pair.
    if (allow.resources.empty() || allow.resources.size() != allow.statement->resources.size()) {
      return;
    }
    // A deny containing the allow's first pattern starts with its first level or a non-literal.
    std::vector<const StatementInfo*> candidates = denies_any_first_;
    if (auto it = denies_by_first_.find(allow.opaque[0].storage[0]); it != denies_by_first_.end()) {
      candidates.insert(candidates.end(), it->second.begin(), it->second.end());
      std::sort(candidates.begin(), candidates.end());  // statement order: the first deny wins
    }
    for (const StatementInfo* d : candidates) {
      const StatementInfo& deny = *d;
      bool actions_covered = std::all_of(
          allow.statement->actions.begin(), allow.statement->actions.end(),
          [&](const std::string& a) {
            return std::any_of(deny.statement->actions.begin(), deny.statement->actions.end(),
                               [&](const std::string& d) { return ActionPatternCovers(d, a); });
          });
      if (!actions_covered) continue;
      // Containment also settles mqtt:subscribe: a filter the allow contains matches some topic,
      // which the deny's containing pattern matches too, so the deny overlaps it.
      bool resources_covered =
          std::all_of(allow.opaque.begin(), allow.opaque.end(), [&](const PatternLevels& inner) {
            return std::any_of(deny.opaque.begin(), deny.opaque.end(),
                               [&](const PatternLevels& outer) {
                                 return FilterContains(outer.levels, inner.levels);
                               });
          });
      if (!resources_covered) continue;
      // Every condition of the deny also conditions the allow: where the allow applies, they hold.
      bool conditions_implied =
          std::all_of(deny.statement->conditions.begin(), deny.statement->conditions.end(),
                      [&](const Condition& c) {
                        return std::any_of(allow.statement->conditions.begin(),
                                           allow.statement->conditions.end(),
                                           [&](const Condition& a) { return SameCondition(a, c); });
                      });
      if (!conditions_implied) continue;
      if (!SelectorContains(deny.policy->principals, allow.policy->principals)) continue;
      Add("FPL005",
          absl::StrCat("allow can never apply: deny \"", deny.Name(), "\" (", deny.Where(),
                       ") covers all of its principals, actions and resources",
                       deny.statement->conditions.empty() ? " without conditions"
                                                          : " with no condition of its own"),
          allow);
      return;
    }
  }

  // Whether another deny covering `action` applies wherever `deny` does on its pattern number
  // `pattern`: it selects every principal `deny` selects, has no condition `deny` lacks, and
  // contains the pattern. Such a deny closes the hole FPL008/FPL009 look for.
  bool Mirrored(const StatementInfo& deny, size_t pattern, std::string_view action) const {
    for (const StatementInfo& other : statements_) {
      if (other.statement->effect != Effect::kDeny || !Covers(*other.statement, action)) continue;
      bool conditions_implied = std::all_of(
          other.statement->conditions.begin(), other.statement->conditions.end(),
          [&](const Condition& c) {
            return std::any_of(deny.statement->conditions.begin(), deny.statement->conditions.end(),
                               [&](const Condition& d) { return SameCondition(c, d); });
          });
      if (!conditions_implied) continue;
      if (!SelectorContains(other.policy->principals, deny.policy->principals)) continue;
      if (std::any_of(other.opaque.begin(), other.opaque.end(), [&](const PatternLevels& o) {
            return FilterContains(o.levels, deny.opaque[pattern].levels);
          })) {
        return true;
      }
    }
    return false;
  }

  // The first allow covering `action` that may apply to a principal `deny` selects, on topics
  // that may overlap one of the deny's patterns not mirrored by a deny on `action`;
  // nullptr when none. `patterns` receives the deny's and the allow's overlapping patterns.
  const StatementInfo* AllowReaching(const StatementInfo& deny, std::string_view action,
                                     std::pair<std::string, std::string>& patterns) const {
    std::vector<size_t> open;  // the deny's patterns without a mirror
    for (size_t i = 0; i < deny.resources.size(); ++i) {
      if (!Mirrored(deny, i, action)) open.push_back(i);
    }
    if (open.empty()) return nullptr;
    for (const StatementInfo& allow : statements_) {
      if (allow.statement->effect != Effect::kAllow || !Covers(*allow.statement, action)) continue;
      if (!MaySelectCommon(allow.policy->principals, deny.policy->principals)) continue;
      for (size_t i : open) {
        for (size_t j = 0; j < allow.resources.size(); ++j) {
          if (FiltersOverlap(deny.any_level[i].levels, allow.any_level[j].levels)) {
            patterns = {deny.resources[i].text, allow.resources[j].text};
            return &allow;
          }
        }
      }
    }
    return nullptr;
  }

  // FPL008: REQUIRES `deny` is a deny.
  void CheckReceiveDenyWithoutSubscribe(const StatementInfo& deny) {
    if (!Covers(*deny.statement, kReceive) || Covers(*deny.statement, kSubscribe)) return;
    std::pair<std::string, std::string> patterns;
    const StatementInfo* allow = AllowReaching(deny, kSubscribe, patterns);
    if (allow == nullptr) return;
    Add("FPL008",
        absl::StrCat("deny on mqtt:receive of \"", patterns.first,
                     "\" does not deny mqtt:subscribe, and allow \"", allow->Name(), "\" (",
                     allow->Where(), ") accepts SUBSCRIBE filters on \"", patterns.second,
                     "\": only a broker that checks every delivery enforces this deny; add "
                     "mqtt:subscribe to its actions (or deny it in another statement)"),
        deny);
  }

  // FPL009: REQUIRES `deny` is a deny.
  void CheckConditionalSubscribeDeny(const StatementInfo& deny) {
    if (deny.statement->conditions.empty() || !Covers(*deny.statement, kSubscribe) ||
        Covers(*deny.statement, kReceive)) {
      return;
    }
    std::pair<std::string, std::string> patterns;
    const StatementInfo* allow = AllowReaching(deny, kReceive, patterns);
    if (allow == nullptr) return;
    Add("FPL009",
        absl::StrCat("deny on mqtt:subscribe of \"", patterns.first,
                     "\" has conditions but does not deny mqtt:receive: a subscription made "
                     "while its conditions did not hold keeps delivering what allow \"",
                     allow->Name(), "\" (", allow->Where(), ") lets the principal receive on \"",
                     patterns.second,
                     "\"; add mqtt:receive to its actions (or deny it with the same "
                     "conditions in another statement)"),
        deny);
  }

  // FPL011: REQUIRES `deny` is a deny.
  void CheckDenyVariables(const StatementInfo& deny) {
    for (const ResourcePattern& p : deny.resources) {
      std::vector<std::string> names;
      for (const AttributePath& v : Variables(p)) {
        if (v.root == AttributePath::kPrincipalId) continue;
        std::string name = v.ToString();
        if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
      }
      if (names.empty()) continue;
      Add("FPL011",
          absl::StrCat("deny pattern \"", p.text, "\" matches nothing for a principal without ",
                       absl::StrJoin(names, " or "),
                       " (or with a value holding '/', '+' or '#'): such principals are not "
                       "denied"),
          deny);
    }
  }

  // FPL010.
  void CheckLiteralStar(const StatementInfo& s) {
    for (const ResourcePattern& p : s.resources) {
      if (!HasLiteralStar(p)) continue;
      Add("FPL010",
          absl::StrCat(R"("*" in resource ")", p.text,
                       "\" is a literal character, not a wildcard: use \"+\" for one level or "
                       "\"#\" for the rest"),
          s);
    }
  }

  // ---- FPL007: conditions that cannot hold together ----

  static std::string Describe(const Condition& c) {
    std::string values = c.values.size() == 1
                             ? absl::StrCat("\"", c.values[0], "\"")
                             : absl::StrCat("[\"", absl::StrJoin(c.values, "\", \""), "\"]");
    return absl::StrCat(c.op, " ", values);
  }

  void AddContradiction(const StatementInfo& s, const std::vector<size_t>& involved,
                        const std::string& key) {
    std::vector<std::string> parts;
    const SourceLocation* first = nullptr;
    for (size_t i : involved) {
      parts.push_back(Describe(*s.condition_sources[i]));
      const SourceLocation& l = s.condition_sources[i]->location;
      if (first == nullptr || std::tie(l.line, l.column) < std::tie(first->line, first->column)) {
        first = &l;
      }
    }
    std::string consequence =
        s.statement->effect == Effect::kAllow
            ? "the allow never applies"
            : absl::StrCat("the deny applies only when ", key, " is missing or undecidable");
    Add("FPL007",
        absl::StrCat("conditions on ", key, " can never all hold (", absl::StrJoin(parts, " and "),
                     "): ", consequence),
        s, first);
  }

  // An ordered type's constraints: lower and upper bounds, allowed points, excluded points.
  template <typename T, typename Compare>
  struct Range {
    explicit Range(Compare c) : compare(std::move(c)) {}
    Compare compare;  // <0, 0, >0
    std::optional<T> lo, hi;
    bool lo_strict = false, hi_strict = false;
    std::optional<std::vector<T>> equals;
    std::vector<T> not_equals;
    std::vector<size_t> involved;

    void Add(const OperatorInfo& op, const std::vector<T>& values, size_t index) {
      if (values.empty()) return;
      involved.push_back(index);
      auto less = [&](const T& a, const T& b) { return compare(a, b) < 0; };
      const T& min = *std::min_element(values.begin(), values.end(), less);
      const T& max = *std::max_element(values.begin(), values.end(), less);
      switch (op.comparison) {
        case Comparison::kEquals:
          if (op.negated) {
            not_equals.insert(not_equals.end(), values.begin(), values.end());
          } else {
            equals = values;
          }
          break;
        case Comparison::kGreaterThan:
        case Comparison::kGreaterThanEquals: {
          bool strict = op.comparison == Comparison::kGreaterThan;
          // "> any of" is "> the smallest"; keep the tighter of two lower bounds.
          if (!lo || compare(min, *lo) > 0 || (compare(min, *lo) == 0 && strict)) {
            lo = min;
            lo_strict = strict;
          }
          break;
        }
        case Comparison::kLessThan:
        case Comparison::kLessThanEquals: {
          bool strict = op.comparison == Comparison::kLessThan;
          if (!hi || compare(max, *hi) < 0 || (compare(max, *hi) == 0 && strict)) {
            hi = max;
            hi_strict = strict;
          }
          break;
        }
      }
    }

    bool Admits(const T& v) const {
      if (lo && (compare(v, *lo) < 0 || (lo_strict && compare(v, *lo) == 0))) return false;
      if (hi && (compare(v, *hi) > 0 || (hi_strict && compare(v, *hi) == 0))) return false;
      return std::none_of(not_equals.begin(), not_equals.end(),
                          [&](const T& n) { return compare(v, n) == 0; });
    }

    // True only when no value satisfies every constraint (whatever the density of T).
    bool Empty() const {
      if (involved.size() < 2) return false;
      if (equals) {
        return std::none_of(equals->begin(), equals->end(), [&](const T& v) { return Admits(v); });
      }
      if (!lo || !hi) return false;
      int c = compare(*lo, *hi);
      if (c > 0) return true;
      if (c < 0) return false;
      return !Admits(*lo);  // one point left: excluded by a strict bound or a NotEquals
    }
  };

  template <typename T, typename Compare>
  static Range<T, Compare> MakeRange(Compare compare) {
    return Range<T, Compare>(std::move(compare));
  }

  // Conditions with variables are skipped before this, so every part is resolved.
  static GlobTokenList Tokens(const std::vector<GlobPart>& parts) {
    GlobTokenList tokens;
    GlobTokens(parts, /*view=*/nullptr, tokens);
    return tokens;
  }

  static std::string Literal(const Template& t) {
    std::string out;
    for (const TemplatePart& p : t) out += p.literal;
    return out;
  }

  // The string operators: a value StringEquals (or, without it, StringEqualsIgnoreCase) allows
  // survives when every other string condition on the key admits it. Conditions with variables
  // in their operands are left out (their values are not known).
  void CheckStrings(const StatementInfo& s, const std::vector<size_t>& on_key,
                    const std::string& key) {
    const CompiledCondition *eq = nullptr, *eq_ic = nullptr;
    std::vector<const CompiledCondition*> others;
    std::vector<size_t> involved;
    for (size_t i : on_key) {
      const CompiledCondition& c = s.conditions[i];
      OperatorType t = c.op->type;
      if ((t != OperatorType::kString && t != OperatorType::kStringIgnoreCase &&
           t != OperatorType::kStringLike) ||
          c.operands_have_variables) {
        continue;
      }
      involved.push_back(i);
      if (t == OperatorType::kString && !c.op->negated) {
        eq = &c;
      } else if (t == OperatorType::kStringIgnoreCase && !c.op->negated) {
        eq_ic = &c;
      } else {
        others.push_back(&c);
      }
    }
    if (involved.size() < 2 || (eq == nullptr && eq_ic == nullptr)) return;
    const CompiledCondition& base = eq != nullptr ? *eq : *eq_ic;
    const bool exact = eq != nullptr;
    auto admits = [&](const CompiledCondition& c, const std::string& v) {
      bool any = false;  // v matches one of c's operands
      switch (c.op->type) {
        case OperatorType::kString:
          if (!exact) return true;  // a case variant of v may pass: unknown, assume it does
          any = std::any_of(c.strings.begin(), c.strings.end(),
                            [&](const Template& t) { return Literal(t) == v; });
          break;
        case OperatorType::kStringIgnoreCase:
          any = std::any_of(c.strings.begin(), c.strings.end(), [&](const Template& t) {
            return absl::EqualsIgnoreCase(Absl(Literal(t)), Absl(v));
          });
          break;
        case OperatorType::kStringLike:
          if (!exact) return true;
          any = std::any_of(c.globs.begin(), c.globs.end(), [&](const std::vector<GlobPart>& g) {
            return GlobMatch(Tokens(g), v);
          });
          break;
        default:
          return true;
      }
      return c.op->negated ? !any : any;
    };
    for (const Template& t : base.strings) {
      std::string v = Literal(t);
      bool survives = true;
      if (eq != nullptr && eq_ic != nullptr) survives = admits(*eq_ic, v);
      for (const CompiledCondition* c : others) survives = survives && admits(*c, v);
      if (survives) return;
    }
    AddContradiction(s, involved, key);
  }

  void CheckConditions(const StatementInfo& s) {
    // Conditions on one attribute path, without a quantifier (ForAnyValue/ForAllValues over a list
    // may satisfy each condition with another value); Exists is checked apart.
    std::map<std::string, std::vector<size_t>> by_key;
    for (size_t i = 0; i < s.conditions.size(); ++i) {
      by_key[s.conditions[i].key.ToString()].push_back(i);
    }
    for (const auto& [key, all] : by_key) {
      // Exists: false, with another test of the key: the other test is undecidable whenever
      // Exists holds, so an allow never applies (a deny still may: undecidable lets it).
      if (s.statement->effect == Effect::kAllow && all.size() >= 2) {
        for (size_t i : all) {
          const CompiledCondition& c = s.conditions[i];
          if (c.op->type == OperatorType::kExists && !c.flag) {
            AddContradiction(s, all, key);
            break;
          }
        }
      }
      std::vector<size_t> single;
      for (size_t i : all) {
        if (s.conditions[i].quantifier == Quantifier::kSingle &&
            s.conditions[i].op->type != OperatorType::kExists) {
          single.push_back(i);
        }
      }
      if (single.size() < 2) continue;
      CheckStrings(s, single, key);
      auto numbers = MakeRange<double>([](double a, double b) { return a < b ? -1 : a > b; });
      auto dates =
          MakeRange<absl::Time>([](absl::Time a, absl::Time b) { return a < b ? -1 : a > b; });
      auto versions = MakeRange<Semver>(CompareSemver);
      std::vector<size_t> ip_involved;
      std::vector<IpNetwork> inside, outside;
      for (size_t i : single) {
        const CompiledCondition& c = s.conditions[i];
        switch (c.op->type) {
          case OperatorType::kNumeric:
            numbers.Add(*c.op, c.numbers, i);
            break;
          case OperatorType::kDate:
            dates.Add(*c.op, c.dates, i);
            break;
          case OperatorType::kSemver:
            versions.Add(*c.op, c.semvers, i);
            break;
          case OperatorType::kIp:
            ip_involved.push_back(i);
            (c.op->negated ? outside : inside)
                .insert((c.op->negated ? outside : inside).end(), c.networks.begin(),
                        c.networks.end());
            break;
          default:
            break;
        }
      }
      if (numbers.Empty()) AddContradiction(s, numbers.involved, key);
      if (dates.Empty()) AddContradiction(s, dates.involved, key);
      if (versions.Empty()) AddContradiction(s, versions.involved, key);
      // Every IpAddress block lies inside a NotIpAddress block.
      auto within = [](const IpNetwork& inner, const IpNetwork& outer) {
        return inner.base.v6 == outer.base.v6 && outer.prefix_length <= inner.prefix_length &&
               outer.Contains(inner.base);
      };
      if (!inside.empty() && !outside.empty() &&
          std::all_of(inside.begin(), inside.end(), [&](const IpNetwork& n) {
            return std::any_of(outside.begin(), outside.end(),
                               [&](const IpNetwork& o) { return within(n, o); });
          })) {
        AddContradiction(s, ip_involved, key);
      }
    }
  }

  // FPL006.
  void CheckUnknownPrincipals() {
    // Ids are judged only against a bundle that lists entities, groups only against one that
    // declares groups: a bundle without them leaves principals to the requests on purpose.
    for (const Policy& p : set_.policies) {
      const PrincipalSelector& sel = p.principals;
      for (const std::string& id : sel.ids) {
        if (set_.entities.empty() || entities_.contains(id)) continue;
        findings_.push_back(LintFinding{
            &Rule("FPL006"),
            absl::StrCat("principal selector names id \"", id,
                         "\", which no Entities document declares: a misspelling selects nobody "
                         "the bundle knows"),
            p.name, "", sel.location});
      }
      for (const std::string& g : sel.groups) {
        if (set_.groups.empty() || ancestors_.contains(g)) continue;
        findings_.push_back(LintFinding{
            &Rule("FPL006"),
            absl::StrCat("principal selector names group \"", g,
                         "\", which no Entities document declares: it selects only principals "
                         "whose requests carry it"),
            p.name, "", sel.location});
      }
    }
  }

  const PolicySet& set_;
  std::vector<StatementInfo> statements_;
  // Denies (into statements_, in statement order) with a pattern starting with a wildcard or a
  // variable, and the others by the literal first levels of their patterns.
  std::vector<const StatementInfo*> denies_any_first_;
  absl::flat_hash_map<std::string, std::vector<const StatementInfo*>> denies_by_first_;
  absl::flat_hash_map<std::string, absl::flat_hash_set<std::string>> ancestors_;
  absl::flat_hash_map<std::string, const Entity*> entities_;
  std::vector<LintFinding> findings_;
};

}  // namespace

std::string_view SeverityName(Severity severity) {
  return kSeverityNames[static_cast<size_t>(severity)];
}

std::optional<Severity> ParseSeverity(std::string_view name) {
  for (size_t i = 0; i < std::size(kSeverityNames); ++i) {
    if (kSeverityNames[i] == name) return static_cast<Severity>(i);
  }
  return std::nullopt;
}

absl::Span<const LintRule> AllLintRules() { return kRules; }

const LintRule* FindLintRule(std::string_view id) {
  for (const LintRule& r : kRules) {
    if (r.id == id) return &r;
  }
  return nullptr;
}

std::vector<LintFinding> Lint(const PolicySet& set, const LintOptions& options) {
  std::vector<LintFinding> all = Linter(set).Run();
  std::vector<LintFinding> out;
  for (LintFinding& f : all) {
    if (std::find(options.disabled.begin(), options.disabled.end(), f.rule->id) ==
        options.disabled.end()) {
      out.push_back(std::move(f));
    }
  }
  std::sort(out.begin(), out.end(), [](const LintFinding& a, const LintFinding& b) {
    return std::tie(a.location.file, a.location.line, a.location.column, a.rule->id, a.message) <
           std::tie(b.location.file, b.location.line, b.location.column, b.rule->id, b.message);
  });
  return out;
}

}  // namespace fleetpdp::engine
