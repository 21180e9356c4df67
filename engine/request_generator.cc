#include "engine/request_generator.h"

#include <algorithm>
#include <iterator>
#include <map>
#include <random>
#include <set>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "engine/absl_compat.h"
#include "engine/pattern.h"

namespace fleetpdp::engine {
namespace {

constexpr std::string_view kMqttActions[] = {kConnect, kPublish, kSubscribe, kReceive, kRetain};
constexpr std::string_view kContextPrefix = "context.";
constexpr std::string_view kAttributePrefix = "principal.attributes.";

// One statement's actions with one of its patterns, and whom its policy selects.
struct Shape {
  const std::vector<std::string>* actions;
  size_t pattern;  // index into Material::patterns
  const PrincipalSelector* selector;
};

// Everything the sets say that requests are built from, deduplicated and in a stable order.
struct Material {
  std::vector<Shape> shapes;
  absl::flat_hash_map<std::string, const std::vector<std::string>*> parents;  // group → parents
  // Shapes by the selector keys that reach them: "*" and attribute-only selectors (unkeyed),
  // ids, groups.
  std::vector<size_t> unkeyed_shapes;
  absl::flat_hash_map<std::string, std::vector<size_t>> shapes_by_id, shapes_by_group;
  std::vector<std::string> principals;  // ids
  absl::flat_hash_map<std::string, const Entity*> entities;
  std::vector<std::string> groups;
  std::vector<std::string> actions;
  std::vector<ResourcePattern> patterns;
  std::vector<std::string> levels;  // sample level texts: literals, ids, attribute values
  // Attribute key → values conditions and selectors compare with.
  std::map<std::string, std::set<std::string>> context_values;
  std::map<std::string, std::set<std::string>> attribute_values;
};

// A value a condition names, made a plausible request value: an address inside a CIDR.
std::string RequestValueOf(const std::string& op, const std::string& value) {
  if (absl::StrContains(op, "IpAddress")) {
    size_t slash = value.find('/');
    return slash == std::string::npos ? value : value.substr(0, slash);
  }
  return value;
}

Material Collect(absl::Span<const PolicySet* const> sets, const RequestGeneratorOptions& options) {
  Material m;
  std::set<std::string> principals, groups, actions, pattern_texts, levels;
  std::vector<std::string> shape_texts;  // the pattern text of each shape
  for (const PolicySet* set : sets) {
    for (const Entity& e : set->entities) {
      m.entities.emplace(e.id, &e);  // the first set's entity wins, as in comparisons
      principals.insert(e.id);
      levels.insert(e.id);
      for (const Attribute& a : e.attributes) {
        for (const std::string& v : a.values) levels.insert(v);
      }
    }
    for (const Group& g : set->groups) {
      groups.insert(g.id);
      m.parents.emplace(g.id, &g.parents);
    }
    for (const Policy& p : set->policies) {
      if (options.selector_ids) principals.insert(p.principals.ids.begin(), p.principals.ids.end());
      groups.insert(p.principals.groups.begin(), p.principals.groups.end());
      for (const auto& [key, value] : p.principals.attributes)
        m.attribute_values[key].insert(value);
      for (const Statement& s : p.statements) {
        for (const std::string& a : s.actions) {
          if (a.ends_with('*')) {
            std::string prefix = a.substr(0, a.size() - 1);
            if (prefix.empty() || prefix == "mqtt:") {
              for (std::string_view mqtt : kMqttActions) actions.insert(std::string(mqtt));
            }
            actions.insert(absl::StrCat(prefix, "other"));
          } else {
            actions.insert(a);
          }
        }
        for (const std::string& r : s.resources) {
          pattern_texts.insert(r);
          m.shapes.push_back(Shape{&s.actions, 0, &p.principals});
          shape_texts.push_back(r);
        }
        for (const Condition& c : s.conditions) {
          for (const std::string& v : c.values) {
            std::string value = RequestValueOf(c.op, v);
            if (c.key.starts_with(kContextPrefix)) {
              m.context_values[c.key.substr(kContextPrefix.size())].insert(value);
            } else if (c.key.starts_with(kAttributePrefix)) {
              m.attribute_values[c.key.substr(kAttributePrefix.size())].insert(value);
            }
          }
        }
      }
    }
  }
  if (!options.principals.empty()) {
    m.principals = options.principals;
  } else {
    m.principals.assign(principals.begin(), principals.end());
  }
  if (m.principals.empty()) m.principals.emplace_back("unknown-client");
  m.groups.assign(groups.begin(), groups.end());
  actions.insert("app:unnamed");  // an action no statement names
  m.actions.assign(actions.begin(), actions.end());
  absl::flat_hash_map<std::string, size_t> pattern_numbers;
  for (const std::string& text : pattern_texts) {
    absl::StatusOr<ResourcePattern> p = ParseResourcePattern(text);
    if (!p.ok()) continue;  // Compile rejects it anyway
    for (const PatternLevel& l : p->levels) {
      if (l.kind == PatternLevel::kLiteral) levels.insert(l.literal);
    }
    pattern_numbers.emplace(text, m.patterns.size());
    m.patterns.push_back(*std::move(p));
  }
  std::vector<Shape> shapes;
  for (size_t i = 0; i < m.shapes.size(); ++i) {
    auto it = pattern_numbers.find(shape_texts[i]);
    if (it == pattern_numbers.end()) continue;
    shapes.push_back(m.shapes[i]);
    shapes.back().pattern = it->second;
  }
  m.shapes = std::move(shapes);
  for (size_t i = 0; i < m.shapes.size(); ++i) {
    const PrincipalSelector& sel = *m.shapes[i].selector;
    if (sel.any || (sel.ids.empty() && sel.groups.empty())) m.unkeyed_shapes.push_back(i);
    for (const std::string& id : sel.ids) m.shapes_by_id[id].push_back(i);
    for (const std::string& g : sel.groups) m.shapes_by_group[g].push_back(i);
  }
  if (m.patterns.empty()) m.patterns.push_back(*ParseResourcePattern("a/b"));
  levels.insert({"x", "", "other", "$SYS"});
  m.levels.assign(levels.begin(), levels.end());
  return m;
}

class Generator {
 public:
  Generator(const Material& m, uint64_t seed) : m_(m), rng_(seed) {}

  Request Make(const std::string& principal_id, bool extra_groups, bool extra_attributes) {
    for (int attempt = 0; attempt < 100; ++attempt) {
      Request r = Attempt(principal_id, extra_groups, extra_attributes);
      if (ValidateRequest(r).ok()) return r;
    }
    // Only values full of wildcards get here (an id "+" connecting, say): a plain topic.
    Request r = Attempt(principal_id, extra_groups, extra_attributes);
    r.action = kPublish;
    r.resource = "x";
    return r;
  }

 private:
  size_t Pick(size_t n) { return static_cast<size_t>(rng_() % n); }
  bool Chance(int percent) { return Pick(100) < static_cast<size_t>(percent); }
  template <typename C>
  const auto& Any(const C& c) {
    auto it = c.begin();
    std::advance(it, Pick(c.size()));
    return *it;
  }

  const Entity* EntityOf(const std::string& id) const {
    auto it = m_.entities.find(id);
    return it == m_.entities.end() ? nullptr : it->second;
  }

  std::string Level() { return m_.levels[Pick(m_.levels.size())]; }

  // The shapes whose policy names this principal by id, group or ancestor, computed once per
  // principal from the shapes indexed by selector key, so the cost follows what applies rather
  // than the size of the bundle. The "*" and attribute-only shapes (Material::unkeyed_shapes)
  // apply to everyone and are not copied here.
  const std::vector<size_t>& RelevantShapes(const std::string& id, const Entity* entity) {
    auto [it, inserted] = relevant_.try_emplace(id);
    if (!inserted) return it->second;
    std::vector<size_t>& out = it->second;
    auto add = [&](const absl::flat_hash_map<std::string, std::vector<size_t>>& by,
                   const std::string& key) {
      if (auto found = by.find(key); found != by.end()) {
        out.insert(out.end(), found->second.begin(), found->second.end());
      }
    };
    add(m_.shapes_by_id, id);
    std::set<std::string> closure;
    std::vector<std::string> queue;
    if (entity != nullptr) queue = entity->groups;
    while (!queue.empty()) {
      std::string g = std::move(queue.back());
      queue.pop_back();
      if (!closure.insert(g).second) continue;
      add(m_.shapes_by_group, g);
      if (auto p = m_.parents.find(g); p != m_.parents.end()) {
        queue.insert(queue.end(), p->second->begin(), p->second->end());
      }
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
  }

  // A concrete action for a statement's action (a trailing '*' made concrete).
  std::string Concrete(const std::string& action) {
    if (!action.ends_with('*')) return action;
    std::string prefix = action.substr(0, action.size() - 1);
    if (prefix.empty() || prefix == "mqtt:") {
      if (Chance(90)) return std::string(kMqttActions[Pick(std::size(kMqttActions))]);
      if (prefix.empty()) return "app:any";
    }
    return absl::StrCat(prefix, Chance(50) ? "download" : "other");
  }

  Request Attempt(const std::string& principal_id, bool extra_groups, bool extra_attributes) {
    Request r;
    r.principal.id = principal_id;
    const Entity* entity = EntityOf(principal_id);
    r.principal.type = entity != nullptr ? entity->type : "device";
    if (extra_attributes && !m_.attribute_values.empty() && Chance(15)) {
      const auto& [key, values] = Any(m_.attribute_values);
      bool entity_has = false;
      if (entity != nullptr) {
        for (const Attribute& a : entity->attributes) entity_has = entity_has || a.key == key;
      }
      // Also one the entity has: the bundle's value must win.
      if (!entity_has || Chance(30)) {
        r.principal.attributes.push_back(Attribute{key, {Any(values)}, false});
      }
    }
    if (extra_groups && !m_.groups.empty() && Chance(10)) {
      r.principal.groups.push_back(m_.groups[Pick(m_.groups.size())]);
    }
    for (const auto& [key, values] : m_.context_values) {
      int roll = static_cast<int>(Pick(10));
      if (roll < 6) {
        r.context.push_back(Attribute{key, {Any(values)}, false});
      } else if (roll < 8) {
        r.context.push_back(Attribute{key, {OtherValue(key)}, false});
      }
    }
    // Mostly a statement that may apply to this principal, with one of its own actions.
    const ResourcePattern* pattern = &m_.patterns[Pick(m_.patterns.size())];
    r.action = m_.actions[Pick(m_.actions.size())];
    const std::vector<size_t>& relevant = RelevantShapes(principal_id, entity);
    if (!m_.shapes.empty() && Chance(85)) {
      const size_t applicable = relevant.size() + m_.unkeyed_shapes.size();
      size_t shape_number = Pick(m_.shapes.size());
      if (applicable > 0 && Chance(80)) {
        const size_t n = Pick(applicable);
        shape_number = n < relevant.size() ? relevant[n] : m_.unkeyed_shapes[n - relevant.size()];
      }
      const Shape& shape = m_.shapes[shape_number];
      pattern = &m_.patterns[shape.pattern];
      if (!shape.actions->empty() && Chance(90)) {
        r.action = Concrete((*shape.actions)[Pick(shape.actions->size())]);
      }
    }
    r.resource = Resource(r, entity, *pattern);
    return r;
  }

  std::string OtherValue(const std::string& key) {
    if (absl::StrContains(key, "ip")) return Chance(50) ? "192.0.2.1" : "2001:db8::1";
    if (absl::StrContains(key, "time")) {
      return Chance(50) ? "2020-01-01T00:00:00Z" : "2031-06-01T12:00:00Z";
    }
    return Chance(50) ? "other" : "";
  }

  std::string Resource(const Request& r, const Entity* entity, const ResourcePattern& pattern) {
    if (r.action == kConnect && Chance(70)) {
      return Chance(70) ? r.principal.id : m_.principals[Pick(m_.principals.size())];
    }
    const bool subscribe = r.action == kSubscribe;
    // A near miss resolves variables with another principal's values.
    Request other;
    const Entity* other_entity = entity;
    const Request* values_of = &r;
    if (Chance(10)) {
      other = r;
      other.principal.id = m_.principals[Pick(m_.principals.size())];
      other_entity = EntityOf(other.principal.id);
      values_of = &other;
    }
    RequestView view(*values_of, other_entity);
    std::vector<std::string> levels;
    const bool keep_wildcards = subscribe && Chance(50);
    for (const PatternLevel& l : pattern.levels) {
      switch (l.kind) {
        case PatternLevel::kLiteral:
          levels.push_back(Chance(3) ? Level() : l.literal);
          break;
        case PatternLevel::kPlus:
          levels.push_back(keep_wildcards && Chance(70) ? "+" : Level());
          break;
        case PatternLevel::kHash: {
          if (keep_wildcards && Chance(70)) {
            levels.emplace_back("#");
            break;
          }
          size_t n = Pick(3);
          for (size_t i = 0; i < n; ++i) levels.push_back(Level());
          break;
        }
        case PatternLevel::kTemplate: {
          std::string text;
          if (!ResolveLevelTemplate(l.parts, view, text)) text = Level();
          levels.push_back(text);
          break;
        }
      }
    }
    if (Chance(20)) {  // a near miss
      switch (Pick(4)) {
        case 0:
          if (!levels.empty()) levels.pop_back();
          break;
        case 1:
          levels.push_back(Level());
          break;
        case 2:
          if (!levels.empty()) levels[Pick(levels.size())] = Level();
          break;
        case 3:
          if (!levels.empty()) levels.front().insert(0, "$");
          break;
      }
    }
    if (subscribe && Chance(5)) levels.emplace_back("#");
    std::string out;
    for (size_t i = 0; i < levels.size(); ++i) {
      // '#' is valid only last: replace an earlier one (from keep_wildcards) by '+'.
      std::string level = levels[i] == "#" && i + 1 < levels.size() ? "+" : levels[i];
      absl::StrAppend(&out, i == 0 ? "" : "/", level);
    }
    return out.empty() ? absl::StrCat(Level(), "x") : out;
  }

  const Material& m_;
  std::mt19937_64 rng_;
  absl::flat_hash_map<std::string, std::vector<size_t>> relevant_;  // by principal id
};

}  // namespace

std::vector<Request> GenerateRequests(absl::Span<const PolicySet* const> sets,
                                      const RequestGeneratorOptions& options) {
  Material m = Collect(sets, options);
  Generator g(m, options.seed);
  std::vector<Request> out;
  out.reserve(options.count + m.principals.size() * options.per_principal);
  for (const std::string& id : m.principals) {
    for (size_t i = 0; i < options.per_principal; ++i) {
      out.push_back(g.Make(id, options.extra_groups, options.extra_attributes));
    }
  }
  std::mt19937_64 pick(options.seed ^ 0x9e3779b97f4a7c15ull);
  for (size_t i = 0; i < options.count; ++i) {
    const std::string& id = m.principals[pick() % m.principals.size()];
    out.push_back(g.Make(id, options.extra_groups, options.extra_attributes));
  }
  return out;
}

}  // namespace fleetpdp::engine
