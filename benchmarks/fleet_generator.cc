#include "benchmarks/fleet_generator.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <numeric>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "engine/absl_compat.h"

namespace fleetpdp::benchmarks {
namespace {

using engine::Attribute;
using engine::Condition;
using engine::Effect;
using engine::Entity;
using engine::Group;
using engine::Policy;
using engine::PolicySet;
using engine::Request;
using engine::SourceLocation;
using engine::Statement;

// Short enough for the small-string buffer: a million entities do not allocate for it.
constexpr std::string_view kFile = "<generated>";

// SplitMix64: tiny, fast and the same on every platform and standard library (unlike the
// distributions of <random>), so a seed names one fleet everywhere.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  // REQUIRES: n > 0. The modulo bias is below 2^-40 for the sizes used here.
  size_t Uniform(size_t n) { return static_cast<size_t>(Next() % n); }
  bool Chance(double p) { return static_cast<double>(Next() >> 11) * 0x1.0p-53 < p; }

 private:
  uint64_t state_;
};

template <typename T>
const T& Pick(Rng& rng, absl::Span<const T> items) {
  return items[rng.Uniform(items.size())];
}

SourceLocation Where(size_t line) {
  return SourceLocation{std::string(kFile), static_cast<int>(line), 1};
}

// The three-level group hierarchy: numbers [0, top) are the top level, [top, top + middle) the
// middle level, the rest leaves. Every middle group has a top parent and every leaf a middle
// parent, assigned round-robin so that each parent has about the same number of children.
class Hierarchy {
 public:
  explicit Hierarchy(size_t groups)
      : top_(std::max<size_t>(1, groups / 1000)),
        middle_(std::max<size_t>(1, groups / 100)),
        leaves_(groups - top_ - middle_) {}

  size_t size() const { return top_ + middle_ + leaves_; }
  size_t leaves() const { return leaves_; }
  size_t Leaf(size_t i) const { return top_ + middle_ + i; }
  bool IsTop(size_t g) const { return g < top_; }
  bool IsMiddle(size_t g) const { return g >= top_ && g < top_ + middle_; }

  // REQUIRES: !IsTop(g).
  size_t Parent(size_t g) const {
    return IsMiddle(g) ? (g - top_) % top_ : top_ + (g - top_ - middle_) % middle_;
  }
  size_t TopAncestor(size_t g) const {
    while (!IsTop(g)) g = Parent(g);
    return g;
  }
  // The site a group belongs to: its middle ancestor, or for a top group its first middle child.
  size_t SiteNumber(size_t g) const {
    if (IsTop(g)) return g % middle_;
    while (!IsMiddle(g)) g = Parent(g);
    return g - top_;
  }

  static std::string Name(size_t g) { return absl::StrFormat("g%04d", g); }
  static std::string Region(size_t top) { return absl::StrCat("region-", top); }
  static std::string Site(size_t site) { return absl::StrFormat("site-%03d", site); }

 private:
  size_t top_, middle_, leaves_;
};

constexpr std::string_view kFirmware[] = {"1.9.3", "2.0.0", "2.1.4", "2.3.0-rc.1", "3.0.1"};

Attribute Scalar(std::string key, std::string value) {
  return Attribute{std::move(key), {std::move(value)}, false};
}

Condition MakeCondition(std::string op, std::string key, std::vector<std::string> values,
                        size_t line) {
  Condition c;
  c.op = std::move(op);
  c.key = std::move(key);
  c.values = std::move(values);
  c.location = Where(line);
  return c;
}

Statement MakeStatement(std::string id, Effect effect, std::vector<std::string> actions,
                        std::string resource, size_t line) {
  Statement s;
  s.id = std::move(id);
  s.effect = effect;
  s.actions = std::move(actions);
  s.resources.push_back(std::move(resource));
  s.location = Where(line);
  return s;
}

constexpr size_t kGroupShapes = 10;
constexpr size_t kStatementsPerGroupPolicy = 5;

// Statement shape `shape` (0 … kGroupShapes-1) of a policy for group `g`.
Statement GroupStatement(size_t shape, size_t g, const Hierarchy& hierarchy, size_t line) {
  const std::string name = Hierarchy::Name(g);
  const Effect allow = Effect::kAllow;
  switch (shape) {
    case 0:
      return MakeStatement("config", allow, {"mqtt:subscribe", "mqtt:receive"},
                           absl::StrCat("groups/", name, "/config/#"), line);
    case 1: {
      Statement s = MakeStatement("telemetry", allow, {"mqtt:publish"},
                                  "devices/${principal.id}/telemetry/#", line);
      s.conditions.push_back(MakeCondition("StringEquals", "principal.attributes.region",
                                           {Hierarchy::Region(hierarchy.TopAncestor(g))}, line));
      return s;
    }
    case 2:
      return MakeStatement("site-status", allow, {"mqtt:publish"},
                           "sites/${principal.attributes.site}/+/status", line);
    case 3: {
      Statement s = MakeStatement("ota", allow, {"mqtt:subscribe", "mqtt:receive"},
                                  absl::StrCat("groups/", name, "/ota/+"), line);
      s.conditions.push_back(
          MakeCondition("SemverAtLeast", "principal.attributes.firmware", {"2.0.0"}, line));
      return s;
    }
    case 4:
      return MakeStatement("no-commands", Effect::kDeny, {"mqtt:publish"}, "devices/+/cmd/#", line);
    case 5: {
      Statement s = MakeStatement("site-watch", allow, {"mqtt:subscribe"},
                                  "sites/${principal.attributes.site}/+/status", line);
      s.conditions.push_back(MakeCondition("IpAddress", "context.source_ip", {"10.0.0.0/8"}, line));
      return s;
    }
    case 6:
      return MakeStatement("site-receive", allow, {"mqtt:receive"},
                           "sites/${principal.attributes.site}/+/status", line);
    case 7:
      return MakeStatement("no-sys", Effect::kDeny, {"mqtt:*"}, "$SYS/#", line);
    case 8:
      return MakeStatement("events", allow, {"mqtt:publish"},
                           absl::StrCat("groups/", name, "/events/${principal.id}"), line);
    default:
      return MakeStatement("broadcast", allow, {"mqtt:subscribe", "mqtt:receive"},
                           absl::StrCat("groups/", name, "/broadcast/+"), line);
  }
}

// The fleet-wide baseline every device gets, in the order they are taken when `statements` is
// smaller than the list.
void AddStarPolicies(size_t statements, PolicySet& set, size_t& line) {
  struct Shape {
    std::string_view policy;
    std::string_view id;
    Effect effect;
    std::vector<std::string> actions;
    std::string_view resource;
  };
  const Shape shapes[] = {
      {"baseline-devices",
       "own-telemetry",
       Effect::kAllow,
       {"mqtt:publish"},
       "devices/${principal.id}/telemetry/#"},
      {"baseline-deny", "no-device-commands", Effect::kDeny, {"mqtt:publish"}, "devices/+/cmd/#"},
      {"baseline-devices",
       "own-commands",
       Effect::kAllow,
       {"mqtt:subscribe", "mqtt:receive"},
       "devices/${principal.id}/cmd/#"},
      {"baseline-deny", "no-sys", Effect::kDeny, {"mqtt:*"}, "$SYS/#"},
  };
  for (size_t i = 0; i < statements && i < std::size(shapes); ++i) {
    const Shape& shape = shapes[i];
    auto it = std::find_if(set.policies.begin(), set.policies.end(),
                           [&](const Policy& p) { return p.name == shape.policy; });
    if (it == set.policies.end()) {
      Policy p;
      p.name = std::string(shape.policy);
      p.principals.any = true;
      p.location = p.principals.location = Where(++line);
      set.policies.push_back(std::move(p));
      it = set.policies.end() - 1;
    }
    it->statements.push_back(MakeStatement(std::string(shape.id), shape.effect, shape.actions,
                                           std::string(shape.resource), ++line));
  }
}

}  // namespace

std::string_view RequestKindName(RequestKind kind) {
  switch (kind) {
    case RequestKind::kPublishTelemetry:
      return "publish";
    case RequestKind::kReceiveGroupConfig:
      return "receive";
    case RequestKind::kSubscribe:
      return "subscribe";
    case RequestKind::kDeniedCommand:
      return "denied";
  }
  return "?";
}

PolicySet GenerateFleet(const FleetOptions& options) {
  Rng rng(options.seed);
  const Hierarchy hierarchy(options.groups);
  PolicySet set;
  size_t line = 0;  // a running "line number" so that every construct has a distinct location

  set.groups.reserve(hierarchy.size());
  for (size_t g = 0; g < hierarchy.size(); ++g) {
    Group group;
    group.id = Hierarchy::Name(g);
    if (!hierarchy.IsTop(g)) group.parents.push_back(Hierarchy::Name(hierarchy.Parent(g)));
    group.location = Where(++line);
    set.groups.push_back(std::move(group));
  }

  set.entities.reserve(options.entities);
  for (size_t e = 0; e < options.entities; ++e) {
    Entity entity;
    entity.id = absl::StrFormat("dev-%07d", e);
    const size_t leaf = hierarchy.Leaf(rng.Uniform(hierarchy.leaves()));
    entity.groups.push_back(Hierarchy::Name(leaf));
    for (size_t extra = rng.Uniform(3); extra > 0; --extra) {
      std::string g = Hierarchy::Name(rng.Uniform(hierarchy.size()));
      if (std::find(entity.groups.begin(), entity.groups.end(), g) == entity.groups.end()) {
        entity.groups.push_back(std::move(g));
      }
    }
    entity.attributes.reserve(3);
    entity.attributes.push_back(Scalar("region", Hierarchy::Region(hierarchy.TopAncestor(leaf))));
    entity.attributes.push_back(Scalar("site", Hierarchy::Site(hierarchy.SiteNumber(leaf))));
    entity.attributes.push_back(
        Scalar("firmware", std::string(Pick(rng, absl::Span<const std::string_view>(kFirmware)))));
    entity.location = Where(++line);
    set.entities.push_back(std::move(entity));
  }

  const size_t star = std::min<size_t>(options.statements, 4);
  const size_t device = (options.statements - star) / 20;
  const size_t group = options.statements - star - device;
  AddStarPolicies(star, set, line);

  // Per-device policies: two statements each (the last may have one), for random devices.
  for (size_t s = 0, n = 0; s < device; ++n) {
    const std::string& id = set.entities[rng.Uniform(set.entities.size())].id;
    Policy p;
    p.name = absl::StrFormat("device-%06d", n);
    p.principals.ids.push_back(id);
    p.location = p.principals.location = Where(++line);
    p.statements.push_back(MakeStatement("debug", Effect::kAllow,
                                         {"mqtt:subscribe", "mqtt:receive"},
                                         absl::StrCat("devices/", id, "/debug/#"), ++line));
    if (++s < device) {
      p.statements.push_back(MakeStatement("diag", Effect::kAllow, {"mqtt:publish"},
                                           absl::StrCat("devices/", id, "/diag/+"), ++line));
      ++s;
    }
    set.policies.push_back(std::move(p));
  }

  // Group policies: policy n goes to group order[n % groups], so groups take policies in turn and
  // every group has one before any has two.
  std::vector<size_t> order(hierarchy.size());
  std::iota(order.begin(), order.end(), size_t{0});
  for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng.Uniform(i)]);
  for (size_t s = 0, n = 0; s < group; ++n) {
    const size_t g = order[n % order.size()];
    Policy p;
    p.name = absl::StrCat("group-", Hierarchy::Name(g), "-", n / order.size());
    p.principals.groups.push_back(Hierarchy::Name(g));
    p.location = p.principals.location = Where(++line);
    const size_t first_shape = (n * 3) % kGroupShapes;
    for (size_t k = 0; k < kStatementsPerGroupPolicy && s < group; ++k, ++s) {
      p.statements.push_back(
          GroupStatement((first_shape + k) % kGroupShapes, g, hierarchy, ++line));
    }
    set.policies.push_back(std::move(p));
  }
  return set;
}

std::vector<Request> GenerateRequests(const PolicySet& set, absl::Span<const RequestKind> kinds,
                                      size_t count, uint64_t seed) {
  Rng rng(seed);
  absl::flat_hash_map<std::string_view, const Group*> groups;
  groups.reserve(set.groups.size());
  for (const Group& g : set.groups) groups.emplace(g.id, &g);

  constexpr std::string_view kSensors[] = {"temperature", "humidity", "battery", "vibration"};
  constexpr std::string_view kConfigKeys[] = {"sampling", "thresholds", "firmware"};

  std::vector<Request> requests;
  requests.reserve(count);
  std::vector<std::string_view> closure;
  for (size_t i = 0; i < count; ++i) {
    const Entity& entity = set.entities[rng.Uniform(set.entities.size())];
    Request r;
    r.principal.id = entity.id;
    r.context.push_back(Scalar(
        "source_ip", rng.Chance(0.9) ? absl::StrCat("10.", rng.Uniform(256), ".", rng.Uniform(256),
                                                    ".", 1 + rng.Uniform(254))
                                     : absl::StrCat("203.0.113.", 1 + rng.Uniform(254))));

    // The entity's groups and their ancestors (duplicates are harmless for picking one).
    closure.clear();
    for (const std::string& g : entity.groups) {
      for (auto it = groups.find(g); it != groups.end();) {
        closure.push_back(it->second->id);
        it = it->second->parents.empty() ? groups.end() : groups.find(it->second->parents.front());
      }
    }
    auto random_group = [&]() -> std::string_view {
      return closure.empty() ? std::string_view("g0000") : closure[rng.Uniform(closure.size())];
    };
    std::string_view site = "site-000";
    for (const Attribute& a : entity.attributes) {
      if (a.key == "site" && !a.values.empty()) site = a.values.front();
    }

    switch (kinds[i % kinds.size()]) {
      case RequestKind::kPublishTelemetry:
        r.action = std::string(engine::kPublish);
        r.resource = absl::StrCat("devices/", entity.id, "/telemetry/",
                                  Absl(Pick(rng, absl::Span<const std::string_view>(kSensors))));
        break;
      case RequestKind::kReceiveGroupConfig:
        r.action = std::string(engine::kReceive);
        r.resource = absl::StrCat("groups/", Absl(random_group()), "/config/",
                                  Absl(Pick(rng, absl::Span<const std::string_view>(kConfigKeys))));
        break;
      case RequestKind::kSubscribe:
        r.action = std::string(engine::kSubscribe);
        r.resource = rng.Chance(0.5) ? absl::StrCat("groups/", Absl(random_group()), "/config/#")
                                     : absl::StrCat("sites/", Absl(site), "/+/status");
        break;
      case RequestKind::kDeniedCommand: {
        const Entity& other = set.entities[rng.Uniform(set.entities.size())];
        r.action = std::string(engine::kPublish);
        r.resource = absl::StrCat("devices/", other.id, "/cmd/reboot");
        break;
      }
    }
    requests.push_back(std::move(r));
  }
  return requests;
}

}  // namespace fleetpdp::benchmarks
