// Differential test: the rule index and the reference evaluator must agree exactly — decision,
// reason and deciding statements — on seeded random policy sets and requests. The generators
// favour the corners of the language: '$' topics, empty levels, '+'/'#' in both patterns and
// filters, variables whose values hold '/', '+' or '#', missing variables, group hierarchies,
// entity attributes that override request attributes, and conditions.
//
// FLEETPDP_DIFFERENTIAL_PAIRS sets the number of (policy set, request) pairs (default 1,000,000);
// FLEETPDP_DIFFERENTIAL_SEED the seed. A disagreement is shrunk to a minimal policy set and printed
// as YAML with the request, ready to paste into a unit test.
#include <cstdlib>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "engine/rule_index.h"
#include "gtest/gtest.h"

namespace fleetpdp::engine {
namespace {

class Generator {
 public:
  explicit Generator(uint64_t seed) : rng_(seed) {}

  PolicySet RandomSet() {
    PolicySet set;
    int groups = Int(0, 4);
    for (int g = 0; g < groups; ++g) {
      Group group{"g" + std::to_string(g), {}, {}};
      for (int p = 0; p < g; ++p) {
        if (Chance(0.35)) group.parents.push_back("g" + std::to_string(p));  // acyclic
      }
      set.groups.push_back(group);
    }
    for (const char* id : {"d1", "d2", "a"}) {
      if (!Chance(0.6)) continue;
      Entity e;
      e.id = id;
      e.type = Chance(0.8) ? "device" : "service";
      for (const Group& g : set.groups) {
        if (Chance(0.4)) e.groups.push_back(g.id);
      }
      RandomAttributes(e.attributes);
      set.entities.push_back(e);
    }
    int policies = Int(1, 4);
    for (int p = 0; p < policies; ++p) {
      Policy policy;
      policy.name = "p" + std::to_string(p);
      policy.principals = RandomSelector(groups);
      int statements = Int(1, 4);
      for (int s = 0; s < statements; ++s) policy.statements.push_back(RandomStatement(s));
      set.policies.push_back(policy);
    }
    return set;
  }

  Request RandomRequest(int groups) {
    Request r;
    r.principal.id = Pick(kPrincipals);
    r.principal.type = Chance(0.5) ? "" : Pick({"device", "service"});
    for (int g = 0; g < groups + 1; ++g) {
      if (Chance(0.2)) r.principal.groups.push_back("g" + std::to_string(g));  // g<groups>: unknown
    }
    RandomAttributes(r.principal.attributes);
    if (Chance(0.6)) r.context.push_back(Attribute{"c1", {Pick(kValues)}, false});
    if (Chance(0.4)) r.context.push_back(Attribute{"n", {Pick({"1", "5", "9", "x"})}, false});
    if (Chance(0.5)) {
      r.context.push_back(Attribute{"ip", {Pick({"10.1.2.3", "192.0.2.1", "::1", "x"})}, false});
    }
    if (Chance(0.5)) {
      r.context.push_back(Attribute{"ver", {Pick({"2.0.0", "1.9.9", "2.0.0-rc.1", "x"})}, false});
    }
    r.action = Pick(kActions);
    bool subscribe = r.action == kSubscribe;
    int levels = Int(1, 5);
    for (int i = 0; i < levels; ++i) {
      if (i > 0) r.resource += "/";
      if (subscribe && Chance(0.25)) {
        bool last = i == levels - 1;
        r.resource += (last && Chance(0.5)) ? "#" : "+";
        if (last) break;
      } else if (Chance(0.15)) {
        r.resource += r.principal.id;  // make variable matches likely
      } else {
        r.resource += Pick(kLevels);
      }
    }
    return r;
  }

 private:
  static constexpr const char* kPrincipals[] = {"d1", "d2", "a", "+", "#", "a/b", "$s", ""};
  static constexpr const char* kValues[] = {"a", "b", "x", "", "a/b", "+", "*", "a*"};
  static constexpr const char* kLevels[] = {"a", "b", "d1", "", "$s", "x"};
  static constexpr const char* kActions[] = {"mqtt:publish", "mqtt:subscribe", "mqtt:subscribe",
                                             "mqtt:receive", "app:do",         "mqtt:connect"};

  int Int(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  bool Chance(double p) { return std::bernoulli_distribution(p)(rng_); }
  template <size_t N>
  std::string Pick(const char* const (&options)[N]) {
    return options[Int(0, N - 1)];
  }
  std::string Pick(std::initializer_list<const char*> options) {
    return *(options.begin() + Int(0, options.size() - 1));
  }

  void RandomAttributes(std::vector<Attribute>& out) {
    for (const char* key : {"k1", "k2"}) {
      if (!Chance(0.5)) continue;
      if (Chance(0.2)) {
        Attribute a{key, {}, true};
        int n = Int(0, 2);
        for (int i = 0; i < n; ++i) a.values.push_back(Pick(kValues));
        out.push_back(a);
      } else {
        out.push_back(Attribute{key, {Pick(kValues)}, false});
      }
    }
  }

  PrincipalSelector RandomSelector(int groups) {
    PrincipalSelector s;
    switch (Int(0, 4)) {
      case 0:
        s.any = true;
        return s;
      case 1:
        s.ids.push_back(Pick(kPrincipals));
        if (Chance(0.3)) s.ids.push_back(Pick(kPrincipals));
        break;
      case 2:
        s.groups.push_back("g" + std::to_string(Int(0, groups)));  // may be request-only
        break;
      case 3:
        break;  // attributes only
      default:
        s.ids.push_back(Pick(kPrincipals));
        s.groups.push_back("g" + std::to_string(Int(0, groups)));
        break;
    }
    if ((s.ids.empty() && s.groups.empty()) || Chance(0.2)) {
      s.attributes.emplace_back(Pick({"k1", "k2"}), Pick({"a", "b", "x"}));
    }
    if (s.ids.size() == 1 && s.ids[0].empty()) s.ids[0] = "d1";
    return s;
  }

  std::string RandomPattern() {
    std::string p;
    int levels = Int(1, 4);
    for (int i = 0; i < levels; ++i) {
      if (i > 0) p += "/";
      int k = Int(0, 9);
      if (k <= 3) {
        p += Pick(kLevels);
      } else if (k == 4) {
        p += "+";
      } else if (k == 5) {
        p += "#";
        break;
      } else if (k == 6) {
        p += "${principal.id}";
      } else if (k == 7) {
        p += "${principal.attributes.k1}";
      } else if (k == 8) {
        p += "x${principal.attributes.k2}";
      } else {
        p += "${context.c1}";
      }
    }
    return p.empty() ? "/" : p;  // "" is not a valid filter; "/" is two empty levels
  }

  Condition RandomCondition() {
    Condition c;
    switch (Int(0, 11)) {
      case 0:
        c = {Quantifier::kSingle, "StringEquals", "principal.attributes.k1", {Pick(kValues)}, {}};
        break;
      case 1:
        c = {Quantifier::kSingle,
             "StringLike",
             "context.c1",
             {Pick({"a*", "?", "${principal.id}*"})},
             {}};
        break;
      case 2:
        c = {Quantifier::kForAnyValue,
             "StringEquals",
             "principal.groups",
             {"g" + std::to_string(Int(0, 3))},
             {}};
        break;
      case 3:
        c = {Quantifier::kSingle,
             "Exists",
             "principal.attributes.k2",
             {Chance(0.5) ? "true" : "false"},
             {}};
        break;
      case 4:
        c = {Quantifier::kSingle, "NumericLessThan", "context.n", {"5"}, {}};
        break;
      case 5:
        c = {Quantifier::kForAllValues, "StringNotEquals", "principal.attributes.k1", {"x"}, {}};
        break;
      case 6:
        c = {Quantifier::kSingle, "StringEquals", "principal.type", {"service"}, {}};
        break;
      case 8:
        c = {Quantifier::kSingle,
             Pick({"IpAddress", "NotIpAddress"}),
             "context.ip",
             {Pick({"10.0.0.0/8", "192.0.2.1"})},
             {}};
        break;
      case 9:
        c = {Quantifier::kSingle,
             Pick({"SemverAtLeast", "SemverBelow", "SemverEquals"}),
             "context.ver",
             {Pick({"2.0.0", "2.0.0-rc.1"})},
             {}};
        break;
      case 10:
        c = {Quantifier::kSingle,
             Pick({"StringEquals", "StringNotEquals"}),
             "context.c1",
             {Pick(kValues)},
             {}};
        break;
      default:
        c = {Quantifier::kForAnyValue,
             "StringLike",
             "principal.attributes.k2",
             {"${principal.attributes.k1}"},
             {}};
        break;
    }
    return c;
  }

  Statement RandomStatement(int n) {
    Statement s;
    s.id = "s" + std::to_string(n);
    s.effect = Chance(0.3) ? Effect::kDeny : Effect::kAllow;
    int actions = Int(1, 2);
    for (int i = 0; i < actions; ++i) {
      s.actions.push_back(Pick({"mqtt:publish", "mqtt:subscribe", "mqtt:receive", "mqtt:*", "*",
                                "app:do", "mqtt:connect"}));
    }
    int resources = Int(1, 2);
    for (int i = 0; i < resources; ++i) s.resources.push_back(RandomPattern());
    int conditions = Chance(0.6) ? 0 : Int(1, 2);
    for (int i = 0; i < conditions; ++i) s.conditions.push_back(RandomCondition());
    return s;
  }

  std::mt19937_64 rng_;
};

std::string Quoted(const std::string& s) { return "\"" + s + "\""; }

std::string List(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + Quoted(items[i]);
  return out + "]";
}

std::string AttributesYaml(const std::vector<Attribute>& attributes) {
  std::string out = "{";
  for (size_t i = 0; i < attributes.size(); ++i) {
    const Attribute& a = attributes[i];
    out += (i ? ", " : "") + a.key + ": " + (a.is_list ? List(a.values) : Quoted(a.values[0]));
  }
  return out + "}";
}

// The set as policy and entity documents, and the request as a PolicyTest case.
std::string Reproduction(const PolicySet& set, const Request& r, const std::string& fast,
                         const std::string& slow) {
  std::ostringstream o;
  o << "apiVersion: fleetpdp/v1\nkind: Entities\ngroups:\n";
  for (const Group& g : set.groups)
    o << "  - {id: " << g.id << ", parents: " << List(g.parents) << "}\n";
  o << "devices:\n";
  for (const Entity& e : set.entities) {
    o << "  - {id: " << Quoted(e.id) << ", groups: " << List(e.groups)
      << ", attributes: " << AttributesYaml(e.attributes) << "}  # type " << e.type << "\n";
  }
  for (const Policy& p : set.policies) {
    o << "---\napiVersion: fleetpdp/v1\nkind: Policy\nmetadata: {name: " << p.name << "}\nspec:\n";
    const PrincipalSelector& s = p.principals;
    if (s.any) {
      o << "  principals: \"*\"\n";
    } else {
      std::vector<Attribute> attrs;
      for (const auto& [k, v] : s.attributes) attrs.push_back(Attribute{k, {v}, false});
      o << "  principals: {ids: " << List(s.ids) << ", groups: " << List(s.groups)
        << ", attributes: " << AttributesYaml(attrs) << "}\n";
    }
    o << "  statements:\n";
    for (const Statement& st : p.statements) {
      o << "    - id: " << st.id
        << "\n      effect: " << (st.effect == Effect::kAllow ? "allow" : "deny")
        << "\n      actions: " << List(st.actions) << "\n      resources: " << List(st.resources)
        << "\n";
      if (!st.conditions.empty()) o << "      conditions:\n";
      for (const Condition& c : st.conditions) {
        const char* q = c.quantifier == Quantifier::kForAnyValue    ? "ForAnyValue:"
                        : c.quantifier == Quantifier::kForAllValues ? "ForAllValues:"
                                                                    : "";
        o << "        " << q << c.op << ": {" << c.key << ": " << List(c.values) << "}\n";
      }
    }
  }
  o << "---\n# request\nprincipal: {id: " << Quoted(r.principal.id)
    << ", type: " << Quoted(r.principal.type) << ", groups: " << List(r.principal.groups)
    << ", attributes: " << AttributesYaml(r.principal.attributes) << "}\naction: " << r.action
    << "\nresource: " << Quoted(r.resource) << "\ncontext: " << AttributesYaml(r.context)
    << "\n# index:     " << fast << "\n# reference: " << slow << "\n";
  return o.str();
}

std::string Describe(const RuleIndex& index, const Decision& d) {
  std::string s = std::string(ReasonName(d.reason));
  for (const std::string& n : index.StatementNames(d)) s += " " + n;
  return s;
}

// Empty when the evaluators agree (or the set does not compile), else both answers.
bool Disagree(const PolicySet& set, const Request& r, std::string* fast, std::string* slow) {
  auto index = Compile(set);
  if (!index.ok()) return false;
  Decision a = Evaluate(**index, r);
  Decision b = EvaluateReference(**index, r);
  if (a.allowed == b.allowed && a.reason == b.reason && a.statements == b.statements) return false;
  if (fast) *fast = Describe(**index, a);
  if (slow) *slow = Describe(**index, b);
  return true;
}

// Greedy shrinking: drop any policy, statement, resource, condition, entity or group while the
// evaluators still disagree.
PolicySet Shrink(PolicySet set, const Request& r) {
  bool progress = true;
  auto try_erase = [&](auto& vec, size_t i) {
    auto saved = vec;
    vec.erase(vec.begin() + i);
    if (Disagree(set, r, nullptr, nullptr)) return true;
    vec = saved;
    return false;
  };
  while (progress) {
    progress = false;
    for (size_t i = 0; i < set.policies.size(); ++i) progress |= try_erase(set.policies, i);
    for (Policy& p : set.policies) {
      for (size_t i = 0; p.statements.size() > 1 && i < p.statements.size(); ++i) {
        progress |= try_erase(p.statements, i);
      }
      for (Statement& s : p.statements) {
        for (size_t i = 0; s.resources.size() > 1 && i < s.resources.size(); ++i) {
          progress |= try_erase(s.resources, i);
        }
        for (size_t i = 0; s.actions.size() > 1 && i < s.actions.size(); ++i) {
          progress |= try_erase(s.actions, i);
        }
        for (size_t i = 0; i < s.conditions.size(); ++i) progress |= try_erase(s.conditions, i);
      }
    }
    for (size_t i = 0; i < set.entities.size(); ++i) progress |= try_erase(set.entities, i);
  }
  return set;
}

uint64_t EnvOr(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  return v != nullptr ? std::strtoull(v, nullptr, 10) : fallback;
}

TEST(DifferentialTest, IndexAndReferenceAgreeOnAMillionRandomPairs) {
  const uint64_t pairs = EnvOr("FLEETPDP_DIFFERENTIAL_PAIRS", 1'000'000);
  const uint64_t seed = EnvOr("FLEETPDP_DIFFERENTIAL_SEED", 20261128);
  constexpr uint64_t kRequestsPerSet = 50;
  Generator gen(seed);
  uint64_t checked = 0, allowed = 0, explicit_denies = 0, compiled = 0;
  while (checked < pairs) {
    PolicySet set = gen.RandomSet();
    int groups = static_cast<int>(set.groups.size());
    auto index = Compile(set);
    ASSERT_TRUE(index.ok()) << index.status();  // the generator makes only valid sets
    ++compiled;
    for (uint64_t i = 0; i < kRequestsPerSet && checked < pairs; ++i, ++checked) {
      Request r = gen.RandomRequest(groups);
      Decision a = Evaluate(**index, r);
      Decision b = EvaluateReference(**index, r);
      if (a.allowed != b.allowed || a.reason != b.reason || a.statements != b.statements) {
        PolicySet minimal = Shrink(set, r);
        std::string fast, slow;
        Disagree(minimal, r, &fast, &slow);
        FAIL() << "index and reference disagree (seed " << seed << ", pair " << checked
               << "); minimal reproduction:\n"
               << Reproduction(minimal, r, fast, slow);
      }
      allowed += a.allowed;
      explicit_denies += a.reason == Reason::kExplicitDeny;
    }
  }
  // The generator must exercise every outcome, or the agreement above proves little.
  EXPECT_GT(allowed, pairs / 50);
  EXPECT_GT(explicit_denies, pairs / 100);
  std::printf("checked %llu pairs over %llu policy sets: %llu allowed, %llu explicit denies\n",
              static_cast<unsigned long long>(checked), static_cast<unsigned long long>(compiled),
              static_cast<unsigned long long>(allowed),
              static_cast<unsigned long long>(explicit_denies));
}

// A new revision's policies compiled against the directory of the revision in force
// (CompileWithDirectory, what a reload does when only policies changed) decide exactly as a
// compile of the whole new set, and as the reference evaluator.
TEST(DifferentialTest, PoliciesCompiledAgainstTheDirectoryInForceDecideLikeAWholeCompile) {
  const uint64_t seed = EnvOr("FLEETPDP_DIFFERENTIAL_SEED", 20261128) + 1;
  constexpr int kRevisions = 4'000;
  constexpr int kRequestsPerRevision = 25;
  Generator gen(seed);
  uint64_t checked = 0, allowed = 0;
  for (int revision = 0; revision < kRevisions; ++revision) {
    PolicySet in_force = gen.RandomSet();
    auto before = Compile(in_force);
    ASSERT_TRUE(before.ok()) << before.status();
    PolicySet next = gen.RandomSet();  // its policies are the new revision's
    PolicySet whole = next;
    whole.groups = in_force.groups;
    whole.entities = in_force.entities;
    auto expected = Compile(whole);
    ASSERT_TRUE(expected.ok()) << expected.status();
    next.groups.clear();
    next.entities.clear();
    auto reused = CompileWithDirectory(next, (*before)->shared_directory());
    ASSERT_TRUE(reused.ok()) << reused.status();
    ASSERT_EQ(&(*reused)->directory(), &(*before)->directory());
    for (int i = 0; i < kRequestsPerRevision; ++i, ++checked) {
      Request r = gen.RandomRequest(4);
      Decision a = Evaluate(**reused, r);
      Decision b = Evaluate(**expected, r);
      Decision c = EvaluateReference(**reused, r);
      ASSERT_TRUE(a.allowed == b.allowed && a.reason == b.reason &&
                  (*reused)->StatementNames(a) == (*expected)->StatementNames(b))
          << "revision " << revision << " (seed " << seed << "): against the directory "
          << Describe(**reused, a) << ", whole compile " << Describe(**expected, b)
          << "\nreproduction:\n"
          << Reproduction(whole, r, Describe(**reused, a), Describe(**expected, b));
      ASSERT_TRUE(a.allowed == c.allowed && a.reason == c.reason && a.statements == c.statements)
          << "revision " << revision << ": index " << Describe(**reused, a) << ", reference "
          << Describe(**reused, c);
      allowed += a.allowed;
    }
  }
  EXPECT_GT(allowed, checked / 50);  // the comparison covers allows, not only default denies
}

}  // namespace
}  // namespace fleetpdp::engine
