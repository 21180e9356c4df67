// Engine benchmarks: the cost of one decision through the rule index as the bundle grows (in
// statements and in entities), with its caches hot, and per request kind; the reference evaluator
// for scale; the cost of validating and compiling a large bundle; the topic checks every decision
// starts with. docs/benchmarks.md has the command, the machine and the results.
//
// Fleets come from fleet_generator.h. Each (statements, entities) fleet is generated and compiled
// once per process, on first use, and kept: the large ones take seconds to build, and every
// repetition of every benchmark reuses them. Building happens outside the timed loops.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "benchmark/benchmark.h"
#include "benchmarks/fleet_generator.h"
#include "engine/policy.h"
#include "engine/request.h"
#include "engine/rule_index.h"
#include "engine/topic.h"
#include "engine/validate.h"

namespace fleetpdp::benchmarks {
namespace {

using engine::Decision;
using engine::Request;
using engine::RuleIndex;

// Requests per benchmark, evaluated in rotation; powers of two (the loops index with a mask).
constexpr size_t kRequests = 1024;
constexpr size_t kHotRequests = 16;
constexpr uint64_t kFleetSeed = 1;
constexpr uint64_t kRequestSeed = 7;

// The compiled fleet with `statements` statements and `entities` entities (10,000 groups).
// Intentionally never freed: destroying a million-entity index at exit only costs time.
const RuleIndex& Fleet(int64_t statements, int64_t entities, int64_t groups = 10'000) {
  static auto* const fleets =
      new std::map<std::tuple<int64_t, int64_t, int64_t>, std::shared_ptr<const RuleIndex>>();
  std::shared_ptr<const RuleIndex>& slot = (*fleets)[{statements, entities, groups}];
  if (slot == nullptr) {
    FleetOptions options;
    options.statements = static_cast<size_t>(statements);
    options.entities = static_cast<size_t>(entities);
    options.groups = static_cast<size_t>(groups);
    options.seed = kFleetSeed;
    absl::StatusOr<std::shared_ptr<const RuleIndex>> index =
        engine::Compile(GenerateFleet(options));
    if (!index.ok()) {
      // A generator bug, not a measurement: stop loudly.
      std::fprintf(stderr, "compiling the synthetic fleet failed: %s\n",
                   index.status().ToString().c_str());
      std::abort();
    }
    slot = *std::move(index);
  }
  return *slot;
}

std::vector<Request> Requests(const RuleIndex& index, absl::Span<const RequestKind> kinds) {
  return GenerateRequests(index.CopySet(), kinds, kRequests, kRequestSeed);
}

// The mean number of statements whose policy selects the principal of a request (through "*",
// its id, or one of its groups or their ancestors): the statements an index cannot rule out by
// principal, whatever the size of the bundle. Counts a policy once per key it selects through
// (the generator's policies each have one).
double MeanSelectingStatements(const engine::PolicySet& set, const std::vector<Request>& requests) {
  absl::flat_hash_map<std::string_view, const engine::Group*> groups;
  for (const engine::Group& g : set.groups) groups.emplace(g.id, &g);
  size_t any = 0;
  absl::flat_hash_map<std::string_view, size_t> by_id, by_group;
  for (const engine::Policy& p : set.policies) {
    if (p.principals.any) any += p.statements.size();
    for (const std::string& id : p.principals.ids) by_id[id] += p.statements.size();
    for (const std::string& g : p.principals.groups) by_group[g] += p.statements.size();
  }
  absl::flat_hash_map<std::string_view, const engine::Entity*> entities;
  for (const Request& r : requests) entities.emplace(r.principal.id, nullptr);
  for (const engine::Entity& e : set.entities) {
    if (auto it = entities.find(e.id); it != entities.end()) it->second = &e;
  }
  double total = 0;
  for (const Request& r : requests) {
    size_t n = any;
    if (auto it = by_id.find(r.principal.id); it != by_id.end()) n += it->second;
    std::vector<std::string_view> pending(r.principal.groups.begin(), r.principal.groups.end());
    if (const engine::Entity* e = entities[r.principal.id]; e != nullptr) {
      pending.insert(pending.end(), e->groups.begin(), e->groups.end());
    }
    absl::flat_hash_set<std::string_view> closure;
    while (!pending.empty()) {
      std::string_view g = pending.back();
      pending.pop_back();
      if (!closure.insert(g).second) continue;
      if (auto it = by_group.find(g); it != by_group.end()) n += it->second;
      if (auto it = groups.find(g); it != groups.end()) {
        pending.insert(pending.end(), it->second->parents.begin(), it->second->parents.end());
      }
    }
    total += static_cast<double>(n);
  }
  return requests.empty() ? 0 : total / static_cast<double>(requests.size());
}

// What the rotating requests decide (fractions of them), so that a reader can see the benchmark
// is not measuring only the cheapest outcome; how many statements a decision names on average,
// and the fraction of decisions naming more than Decision keeps inline (a heap allocation each);
// how many statements select their principals; the size of the index.
void ReportShape(benchmark::State& state, const RuleIndex& index,
                 const std::vector<Request>& requests) {
  double allowed = 0, denied = 0, deciding = 0, spilled = 0;
  for (const Request& r : requests) {
    Decision d = engine::Evaluate(index, r);
    if (d.reason == engine::Reason::kAllowed) ++allowed;
    if (d.reason == engine::Reason::kExplicitDeny) ++denied;
    deciding += static_cast<double>(d.statements.size());
    if (d.statements.size() > Decision::kInlineStatements) ++spilled;
  }
  const auto n = static_cast<double>(requests.size());
  state.counters["allowed"] = allowed / n;
  state.counters["denied"] = denied / n;
  state.counters["default_deny"] = (n - allowed - denied) / n;
  state.counters["deciding"] = deciding / n;
  state.counters["spilled"] = spilled / n;
  state.counters["selecting"] = MeanSelectingStatements(index.CopySet(), requests);
  state.counters["trie_nodes"] = static_cast<double>(index.trie_node_count());
}

// REQUIRES: requests.size() is a power of two.
void RunChecks(benchmark::State& state, const RuleIndex& index,
               const std::vector<Request>& requests) {
  ReportShape(state, index, requests);
  const size_t mask = requests.size() - 1;
  size_t i = 0;
  for (auto _ : state) {
    Decision d = engine::Evaluate(index, requests[i++ & mask]);
    benchmark::DoNotOptimize(d);
  }
  state.SetItemsProcessed(state.iterations());
}

// One decision through the index, over the mixed requests. Args: statements, entities.
void BM_Check(benchmark::State& state) {
  const RuleIndex& index = Fleet(state.range(0), state.range(1));
  RunChecks(state, index, Requests(index, kAllRequestKinds));
}
BENCHMARK(BM_Check)
    ->ArgNames({"statements", "entities"})
    ->Args({10, 10'000})
    ->Args({1'000, 10'000})
    ->Args({100'000, 10'000})
    ->Args({100'000, 1'000'000});

// The same checks in fleets whose groups grow with the statements (10,000 groups up to 10,000
// statements, then two groups per statement), so that a principal is selected by about as many
// statements at every size: what the index itself costs as the bundle grows, separated from how
// many statements apply to the asker. Args: statements, entities, groups.
void BM_CheckConstantFanIn(benchmark::State& state) {
  const RuleIndex& index = Fleet(state.range(0), state.range(1), state.range(2));
  RunChecks(state, index, Requests(index, kAllRequestKinds));
}
BENCHMARK(BM_CheckConstantFanIn)
    ->ArgNames({"statements", "entities", "groups"})
    ->Args({10, 10'000, 10'000})
    ->Args({1'000, 10'000, 10'000})
    ->Args({100'000, 10'000, 200'000})
    ->Args({100'000, 1'000'000, 200'000});

// The first kHotRequests of the same mixed requests in rotation: the parts of the index they
// touch stay in the caches, so the difference from BM_Check (per selecting statement) is what
// cache misses cost a server whose requests come from many devices.
void BM_CheckHot(benchmark::State& state) {
  const RuleIndex& index = Fleet(state.range(0), state.range(1));
  std::vector<Request> requests = Requests(index, kAllRequestKinds);
  requests.resize(kHotRequests);
  RunChecks(state, index, requests);
}
BENCHMARK(BM_CheckHot)
    ->ArgNames({"statements", "entities"})
    ->Args({10, 10'000})
    ->Args({100'000, 10'000});

// One decision through the index, for one kind of request.
void BM_CheckKind(benchmark::State& state, RequestKind kind) {
  const RuleIndex& index = Fleet(state.range(0), state.range(1));
  const RequestKind kinds[] = {kind};
  RunChecks(state, index, Requests(index, kinds));
}
#define FLEETPDP_CHECK_KIND(name, kind)       \
  BENCHMARK_CAPTURE(BM_CheckKind, name, kind) \
      ->ArgNames({"statements", "entities"})  \
      ->Args({10, 10'000})                    \
      ->Args({100'000, 10'000})
FLEETPDP_CHECK_KIND(publish, RequestKind::kPublishTelemetry);
FLEETPDP_CHECK_KIND(receive, RequestKind::kReceiveGroupConfig);
FLEETPDP_CHECK_KIND(subscribe, RequestKind::kSubscribe);
FLEETPDP_CHECK_KIND(denied, RequestKind::kDeniedCommand);
#undef FLEETPDP_CHECK_KIND

// The same mixed requests through EvaluateReference, which checks every statement: what the index
// saves. Before timing, checks that both evaluators agree on every request.
void BM_ReferenceCheck(benchmark::State& state) {
  const RuleIndex& index = Fleet(state.range(0), state.range(1));
  const std::vector<Request> requests = Requests(index, kAllRequestKinds);
  for (const Request& r : requests) {
    Decision fast = engine::Evaluate(index, r);
    Decision slow = engine::EvaluateReference(index, r);
    if (fast.reason != slow.reason || fast.statements != slow.statements) {
      state.SkipWithError("the index and the reference evaluator disagree");
      return;
    }
  }
  ReportShape(state, index, requests);
  size_t i = 0;
  for (auto _ : state) {
    Decision d = engine::EvaluateReference(index, requests[i++ & (kRequests - 1)]);
    benchmark::DoNotOptimize(d);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ReferenceCheck)->ArgNames({"statements", "entities"})->Args({1'000, 10'000});

// Times `compile(input())` per iteration on the fleet of the benchmark's arguments; building the
// input and destroying the result are not timed. Wall-clock time: what a reload waits for.
template <typename Input, typename CompileFn>
void TimeCompile(benchmark::State& state, Input input, CompileFn compile) {
  const RuleIndex& fleet = Fleet(state.range(0), state.range(1));
  for (auto _ : state) {
    state.PauseTiming();
    engine::PolicySet set = input(fleet);
    state.ResumeTiming();
    absl::StatusOr<std::shared_ptr<const RuleIndex>> index = compile(fleet, std::move(set));
    state.PauseTiming();
    if (!index.ok()) {
      state.SkipWithError(index.status().ToString().c_str());
      break;
    }
    index = nullptr;
    state.ResumeTiming();
  }
  state.counters["statements"] = static_cast<double>(fleet.statement_count());
  state.counters["entities"] = static_cast<double>(fleet.entity_count());
}

// Validate + Compile of a whole bundle, as a reload of a changed device registry does.
void BM_Compile(benchmark::State& state) {
  TimeCompile(
      state, [](const RuleIndex& fleet) { return fleet.CopySet(); },
      [](const RuleIndex&, engine::PolicySet set) { return engine::Compile(std::move(set)); });
}
BENCHMARK(BM_Compile)
    ->ArgNames({"statements", "entities"})
    ->Args({100'000, 10'000})
    ->Args({10, 1'000'000})
    ->Args({100'000, 1'000'000})
    ->Iterations(3)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// A revision that changes only policies, as a reload with an unchanged directory compiles it:
// the policies against the groups and entities already compiled (CompileWithDirectory).
void BM_CompilePolicies(benchmark::State& state) {
  TimeCompile(
      state,
      [](const RuleIndex& fleet) {
        engine::PolicySet policies;
        policies.policies = fleet.policies();
        return policies;
      },
      [](const RuleIndex& fleet, engine::PolicySet set) {
        return engine::CompileWithDirectory(std::move(set), fleet.shared_directory());
      });
}
BENCHMARK(BM_CompilePolicies)
    ->ArgNames({"statements", "entities"})
    ->Args({100'000, 1'000'000})
    ->Iterations(3)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// Validate alone (the first step of Compile), to split BM_Compile's time.
void BM_Validate(benchmark::State& state) {
  const engine::PolicySet set = Fleet(state.range(0), state.range(1)).CopySet();
  for (auto _ : state) {
    engine::ValidationReport report;
    engine::Validate(set, report);
    if (!report.ok()) {
      state.SkipWithError("the synthetic fleet does not validate");
      break;
    }
  }
}
BENCHMARK(BM_Validate)
    ->ArgNames({"statements", "entities"})
    ->Args({100'000, 10'000})
    ->Args({10, 1'000'000})
    ->Iterations(3)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// The request checks every decision starts with (Evaluate denies an invalid resource): a typical
// telemetry topic and subscription filter.
void BM_ValidateTopicName(benchmark::State& state) {
  const std::string topic = "devices/dev-0001234/telemetry/temperature";
  for (auto _ : state) {
    absl::Status s = engine::ValidateTopicName(topic);
    benchmark::DoNotOptimize(s);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ValidateTopicName);

void BM_ValidateTopicFilter(benchmark::State& state) {
  const std::string filter = "sites/site-042/+/status";
  for (auto _ : state) {
    absl::Status s = engine::ValidateTopicFilter(filter);
    benchmark::DoNotOptimize(s);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ValidateTopicFilter);

}  // namespace
}  // namespace fleetpdp::benchmarks

BENCHMARK_MAIN();
