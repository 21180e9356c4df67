#include "engine/prune.h"

#include <algorithm>
#include <deque>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "engine/absl_compat.h"

namespace fleetpdp::engine {
namespace {

using GroupSet = absl::flat_hash_set<std::string>;

// Each group id → its parents, for the closure walk.
using Parents = absl::flat_hash_map<std::string, const std::vector<std::string>*>;

// `groups` and every ancestor of them (breadth-first; cycles were rejected by Validate, and the
// `seen` set makes a cycle harmless anyway).
GroupSet Closure(const Parents& parents, const std::vector<std::string>& groups) {
  GroupSet seen;
  std::deque<std::string> queue;
  for (const std::string& g : groups) {
    if (seen.insert(g).second) queue.push_back(g);
  }
  while (!queue.empty()) {
    std::string g = std::move(queue.front());
    queue.pop_front();
    auto it = parents.find(g);
    if (it == parents.end()) continue;
    for (const std::string& p : *it->second) {
      if (seen.insert(p).second) queue.push_back(p);
    }
  }
  return seen;
}

const Attribute* FindAttribute(const Entity& entity, std::string_view key) {
  for (const Attribute& a : entity.attributes) {
    if (a.key == key) return &a;
  }
  return nullptr;
}

// Whether `selector` selects a request from `entity` (with `closure` its groups and ancestors)
// for some in-scope request. Mirrors the evaluators' rule: named by id or group (or by attributes
// alone), then every selector attribute equal to the principal's single value — where the entity
// lacks the attribute, a request may supply it, so that attribute does not exclude the policy.
bool MaySelect(const PrincipalSelector& selector, const Entity& entity, const GroupSet& closure) {
  if (selector.any) return true;
  bool named = selector.ids.empty() && selector.groups.empty();
  for (const std::string& id : selector.ids) named = named || id == entity.id;
  for (const std::string& g : selector.groups) named = named || closure.contains(g);
  if (!named) return false;
  for (const auto& [key, value] : selector.attributes) {
    const Attribute* a = FindAttribute(entity, key);
    if (a == nullptr) continue;  // the request may add it
    // The entity's attribute is authoritative: the request cannot change it.
    if (a->values.size() != 1 || a->values.front() != value) return false;
  }
  return true;
}

bool TermSelects(const SelectionTerm& term, const Entity& entity, const GroupSet& closure) {
  switch (term.kind) {
    case SelectionTerm::kGroup:
      return closure.contains(term.name);
    case SelectionTerm::kId:
      return entity.id == term.name;
    case SelectionTerm::kAttribute: {
      const Attribute* a = FindAttribute(entity, term.name);
      return a != nullptr &&
             std::find(a->values.begin(), a->values.end(), term.value) != a->values.end();
    }
  }
  return false;
}

}  // namespace

std::string PrincipalSelection::ToString() const {
  std::string out;
  for (const SelectionTerm& t : terms) {
    if (!out.empty()) out += ",";
    switch (t.kind) {
      case SelectionTerm::kGroup:
        absl::StrAppend(&out, "group:", t.name);
        break;
      case SelectionTerm::kId:
        absl::StrAppend(&out, "id:", t.name);
        break;
      case SelectionTerm::kAttribute:
        absl::StrAppend(&out, "attr:", t.name, "=", t.value);
        break;
    }
  }
  return out;
}

absl::StatusOr<PrincipalSelection> ParseSelection(std::string_view text) {
  if (text.empty()) {
    return absl::InvalidArgumentError(
        "empty selector (expected group:G, id:X or attr:K=V, comma-separated)");
  }
  PrincipalSelection selection;
  for (absl::string_view raw : absl::StrSplit(Absl(text), ',')) {
    const std::string term(raw);
    if (term.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("selector \"", Absl(text), "\" has an empty term"));
    }
    size_t colon = term.find(':');
    if (colon == std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat(
          "selector term \"", term, "\" must be group:G, id:X or attr:K=V (no ':' found)"));
    }
    std::string kind = term.substr(0, colon);
    std::string rest = term.substr(colon + 1);
    SelectionTerm t;
    if (kind == "group") {
      t.kind = SelectionTerm::kGroup;
      t.name = rest;
    } else if (kind == "id") {
      t.kind = SelectionTerm::kId;
      t.name = rest;
    } else if (kind == "attr") {
      t.kind = SelectionTerm::kAttribute;
      size_t eq = rest.find('=');
      if (eq == std::string::npos || eq == 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("selector term \"", term, "\" must be attr:KEY=VALUE"));
      }
      t.name = rest.substr(0, eq);
      t.value = rest.substr(eq + 1);
    } else {
      return absl::InvalidArgumentError(absl::StrCat("selector term \"", term,
                                                     "\": unknown kind \"", kind,
                                                     "\" (expected group, id or attr)"));
    }
    if (t.name.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("selector term \"", term, "\" names no ", kind));
    }
    selection.terms.push_back(std::move(t));
  }
  return selection;
}

absl::StatusOr<PruneResult> Prune(const PolicySet& set, const std::vector<TestCase>& tests,
                                  const PrincipalSelection& selection) {
  Parents parents;
  for (const Group& g : set.groups) parents.emplace(g.id, &g.parents);
  absl::flat_hash_set<std::string_view> entity_ids;
  for (const Entity& e : set.entities) entity_ids.insert(e.id);
  for (const SelectionTerm& t : selection.terms) {
    if (t.kind == SelectionTerm::kGroup && !parents.contains(t.name)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "selector \"group:", t.name, "\": the bundle declares no group \"", t.name, "\""));
    }
    if (t.kind == SelectionTerm::kId && !entity_ids.contains(std::string_view(t.name))) {
      return absl::InvalidArgumentError(
          absl::StrCat("selector \"id:", t.name, "\": the bundle has no entity \"", t.name, "\""));
    }
  }

  PruneResult result;
  // The selected entities with their group closures; the groups they need.
  struct Selected {
    const Entity* entity;
    GroupSet closure;
  };
  std::vector<Selected> selected;
  GroupSet needed_groups;
  absl::flat_hash_map<std::string_view, size_t> selected_by_id;
  for (const Entity& e : set.entities) {
    GroupSet closure = Closure(parents, e.groups);
    bool chosen = std::any_of(selection.terms.begin(), selection.terms.end(),
                              [&](const SelectionTerm& t) { return TermSelects(t, e, closure); });
    if (!chosen) continue;
    needed_groups.insert(closure.begin(), closure.end());
    selected_by_id.emplace(e.id, selected.size());
    result.selected.push_back(e.id);
    result.set.entities.push_back(e);
    selected.push_back(Selected{&e, std::move(closure)});
  }
  if (selected.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("selector \"", selection.ToString(), "\" selects no entity of the bundle"));
  }

  for (const Group& g : set.groups) {
    if (needed_groups.contains(g.id)) result.set.groups.push_back(g);
  }
  for (const Policy& p : set.policies) {
    const PrincipalSelector& sel = p.principals;
    bool applies;
    if (sel.any) {
      applies = true;
    } else if (sel.attributes.empty()) {
      // Named by id or group only: one look at the union of the selection (no per-entity loop,
      // which would cost policies × selected entities on a large fleet).
      applies = std::any_of(sel.ids.begin(), sel.ids.end(),
                            [&](const std::string& id) { return selected_by_id.contains(id); }) ||
                std::any_of(sel.groups.begin(), sel.groups.end(),
                            [&](const std::string& g) { return needed_groups.contains(g); });
    } else {
      applies = std::any_of(selected.begin(), selected.end(), [&](const Selected& s) {
        return MaySelect(sel, *s.entity, s.closure);
      });
    }
    if (applies) result.set.policies.push_back(p);
  }
  for (const TestCase& t : tests) {
    auto it = selected_by_id.find(t.request.principal.id);
    if (it == selected_by_id.end()) continue;
    const GroupSet& closure = selected[it->second].closure;
    // A test whose request adds groups beyond the entity's own is out of scope (see prune.h).
    bool adds_groups =
        std::any_of(t.request.principal.groups.begin(), t.request.principal.groups.end(),
                    [&](const std::string& g) { return !closure.contains(g); });
    if (!adds_groups) result.tests.push_back(t);
  }
  return result;
}

}  // namespace fleetpdp::engine
