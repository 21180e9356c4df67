#include "engine/validate.h"

#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/pace.h"

namespace fleetpdp::engine {
namespace {

void CheckGroups(const PolicySet& set, ValidationReport& report) {
  absl::flat_hash_map<std::string_view, size_t> index;
  for (size_t i = 0; i < set.groups.size(); ++i) {
    PaceEvery(i, 4096);
    const Group& g = set.groups[i];
    if (g.id.empty()) continue;  // reported by the parser
    auto [it, inserted] = index.emplace(g.id, i);
    if (!inserted) {
      const SourceLocation& first = set.groups[it->second].location;
      report.AddError(g.location,
                      absl::StrCat("duplicate group id \"", g.id, "\" (first defined at ",
                                   first.file, ":", first.line, ")"));
    }
  }
  for (const Group& g : set.groups) {
    for (const std::string& parent : g.parents) {
      if (!index.contains(parent)) {
        report.AddError(g.location, absl::StrCat("group \"", g.id,
                                                 "\" names unknown parent group \"", parent, "\""));
      }
    }
  }
  // Cycle detection: iterative depth-first search with colours (no recursion on user input).
  enum Colour : uint8_t { kWhite, kGrey, kBlack };
  std::vector<Colour> colour(set.groups.size(), kWhite);
  for (size_t root = 0; root < set.groups.size(); ++root) {
    if (colour[root] != kWhite) continue;
    // Stack of (group, next parent position).
    std::vector<std::pair<size_t, size_t>> stack{{root, 0}};
    colour[root] = kGrey;
    while (!stack.empty()) {
      auto& [node, next] = stack.back();
      const Group& g = set.groups[node];
      if (next == g.parents.size()) {
        colour[node] = kBlack;
        stack.pop_back();
        continue;
      }
      auto it = index.find(g.parents[next++]);
      if (it == index.end()) continue;
      size_t p = it->second;
      if (colour[p] == kGrey) {
        // Report the cycle as the path from p back to p.
        std::vector<absl::string_view> cycle;
        bool in_cycle = false;
        for (const auto& [n, unused] : stack) {
          if (n == p) in_cycle = true;
          if (in_cycle) cycle.push_back(set.groups[n].id);
        }
        cycle.push_back(set.groups[p].id);
        report.AddError(g.location, absl::StrCat("cycle in the group hierarchy: ",
                                                 absl::StrJoin(cycle, " → ")));
      } else if (colour[p] == kWhite) {
        colour[p] = kGrey;
        stack.emplace_back(p, 0);
      }
    }
  }
}

void CheckEntities(const PolicySet& set, ValidationReport& report) {
  absl::flat_hash_set<std::string_view> groups;
  for (const Group& g : set.groups) groups.insert(g.id);
  absl::flat_hash_map<std::string_view, const Entity*> seen;
  for (const Entity& e : set.entities) {
    PaceEvery(seen.size(), 4096);
    if (e.id.empty()) continue;  // reported by the parser
    auto [it, inserted] = seen.emplace(e.id, &e);
    if (!inserted) {
      report.AddError(e.location,
                      absl::StrCat("duplicate entity id \"", e.id, "\" (first defined at ",
                                   it->second->location.file, ":", it->second->location.line, ")"));
    }
    for (const std::string& g : e.groups) {
      if (!groups.contains(g)) {
        report.AddError(e.location, absl::StrCat("entity \"", e.id, "\" names unknown group \"", g,
                                                 "\" (declare it under groups:)"));
      }
    }
  }
}

void CheckPolicies(const PolicySet& set, ValidationReport& report) {
  absl::flat_hash_map<std::string_view, const Policy*> names;
  for (size_t i = 0; i < set.policies.size(); ++i) {
    PaceEvery(i, 256);
    const Policy& p = set.policies[i];
    if (!p.name.empty()) {
      auto [it, inserted] = names.emplace(p.name, &p);
      if (!inserted) {
        report.AddError(p.location, absl::StrCat("duplicate policy name \"", p.name,
                                                 "\" (first defined at ", it->second->location.file,
                                                 ":", it->second->location.line, ")"));
      }
    }
    absl::flat_hash_set<std::string_view> ids;
    for (const Statement& s : p.statements) {
      if (!s.id.empty() && !ids.insert(s.id).second) {
        report.AddError(s.location, absl::StrCat("duplicate statement id \"", s.id,
                                                 "\" in policy \"", p.name, "\""));
      }
    }
  }
}

}  // namespace

void Validate(const PolicySet& set, ValidationReport& report) {
  CheckPolicies(set, report);
  CheckGroups(set, report);
  CheckEntities(set, report);
}

}  // namespace fleetpdp::engine
