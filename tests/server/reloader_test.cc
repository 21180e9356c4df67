// The reloader: new revisions parse only the documents that changed, and the reload thread runs at
// the configured niceness.
#include "server/reloader.h"

#include <sys/resource.h>

#include <deque>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "status_matchers.h"

namespace fleetpdp::server {
namespace {

constexpr char kPolicy[] = R"(apiVersion: fleetpdp/v1
kind: Policy
metadata: {name: p}
spec:
  principals: {groups: [cams]}
  statements:
    - {id: own, effect: allow, actions: [mqtt:publish], resources: ["d/${principal.id}/#"]}
)";

constexpr char kEntities[] = R"(apiVersion: fleetpdp/v1
kind: Entities
groups: [{id: cams}]
devices: [{id: cam-1, groups: [cams]}]
)";

bundles::BundleFiles Revision(int revision) {
  return bundles::BundleFiles{
      {"manifest.yaml", "name: fleet\nrevision: " + std::to_string(revision) + "\n"},
      {"policies/p.yaml", kPolicy},
      {"entities/devices.yaml", kEntities},
  };
}

// Hands out the queued bundles one per fetch, then "unchanged".
class QueueSource : public BundleSource {
 public:
  explicit QueueSource(std::deque<bundles::BundleFiles> queue) : queue_(std::move(queue)) {}
  absl::StatusOr<std::optional<bundles::BundleFiles>> FetchIfChanged() override {
    if (queue_.empty()) return std::nullopt;
    bundles::BundleFiles next = std::move(queue_.front());
    queue_.pop_front();
    return next;
  }
  std::string Describe() const override { return "queue"; }

 private:
  std::deque<bundles::BundleFiles> queue_;
};

ReloaderOptions Unsigned(bool keep_parsed) {
  ReloaderOptions o;
  o.allow_unsigned = true;
  o.keep_parsed_documents = keep_parsed;
  return o;
}

TEST(ReloaderTest, ANewRevisionWithUnchangedDocumentsParsesNone) {
  BundleHolder holder;
  Reloader reloader(std::make_unique<QueueSource>(std::deque{Revision(1), Revision(2)}), nullptr,
                    Unsigned(true), holder, nullptr);
  ASSERT_OK(reloader.ReloadNow());
  EXPECT_EQ(reloader.last_parse().parsed, 2u);
  ASSERT_OK(reloader.ReloadNow());
  EXPECT_EQ(holder.Current()->metadata.revision, 2u);
  EXPECT_EQ(reloader.last_parse().parsed, 0u);
  EXPECT_EQ(reloader.last_parse().reused, 2u);
}

TEST(ReloaderTest, WithoutKeepingParsedDocumentsEveryLoadParsesEverything) {
  BundleHolder holder;
  Reloader reloader(std::make_unique<QueueSource>(std::deque{Revision(1), Revision(2)}), nullptr,
                    Unsigned(false), holder, nullptr);
  ASSERT_OK(reloader.ReloadNow());
  ASSERT_OK(reloader.ReloadNow());
  EXPECT_EQ(holder.Current()->metadata.revision, 2u);
  EXPECT_EQ(reloader.last_parse().reused, 0u);
  EXPECT_EQ(reloader.last_parse().parsed, 0u);  // the cache was never used
}

TEST(ReloaderTest, ARevisionWithNewPoliciesOnlySharesTheGroupsAndEntitiesInForce) {
  bundles::BundleFiles policies_changed = Revision(2);
  policies_changed["policies/p.yaml"] = std::string(kPolicy) +
                                        "    - {id: more, effect: allow, "
                                        "actions: [mqtt:subscribe], resources: [\"d/#\"]}\n";
  bundles::BundleFiles entities_changed = Revision(3);
  entities_changed["entities/devices.yaml"] += "services: [{id: svc-1}]\n";
  BundleHolder holder;
  Reloader reloader(std::make_unique<QueueSource>(
                        std::deque{Revision(1), std::move(policies_changed), entities_changed}),
                    nullptr, Unsigned(true), holder, nullptr);
  ASSERT_OK(reloader.ReloadNow());
  std::shared_ptr<const bundles::LoadedBundle> first = holder.Current();
  EXPECT_FALSE(first->metadata.directory_reused);
  ASSERT_OK(reloader.ReloadNow());
  std::shared_ptr<const bundles::LoadedBundle> second = holder.Current();
  EXPECT_EQ(second->metadata.revision, 2u);
  EXPECT_TRUE(second->metadata.directory_reused);
  EXPECT_EQ(&second->index->directory(), &first->index->directory());
  EXPECT_EQ(second->index->statement_count(), 2u);
  ASSERT_OK(reloader.ReloadNow());
  std::shared_ptr<const bundles::LoadedBundle> third = holder.Current();
  EXPECT_EQ(third->metadata.revision, 3u);
  EXPECT_FALSE(third->metadata.directory_reused);
  EXPECT_EQ(third->metadata.entities, 2u);
}

TEST(ReloaderTest, WithoutKeepingParsedDocumentsTheDirectoryIsBuiltOnEveryLoad) {
  BundleHolder holder;
  Reloader reloader(std::make_unique<QueueSource>(std::deque{Revision(1), Revision(2)}), nullptr,
                    Unsigned(false), holder, nullptr);
  ASSERT_OK(reloader.ReloadNow());
  ASSERT_OK(reloader.ReloadNow());
  EXPECT_EQ(holder.Current()->metadata.revision, 2u);
  EXPECT_FALSE(holder.Current()->metadata.directory_reused);
}

// The niceness of every thread of this process, from /proc/self/task/*/stat (field 19).
std::vector<int> ThreadNiceness() {
  std::vector<int> out;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream in(task.path() / "stat");
    std::string stat((std::istreambuf_iterator<char>(in)), {});
    std::istringstream fields(stat.substr(stat.rfind(')') + 2));  // after "pid (comm) "
    std::string field;
    for (int i = 3; i <= 19 && fields >> field; ++i) {
      if (i == 19) out.push_back(std::stoi(field));
    }
  }
  return out;
}

TEST(ReloaderTest, ReloadsWhileABundleServesArePacedAndTheFirstLoadIsNot) {
  bundles::BundleFiles bad = Revision(3);
  bad["policies/p.yaml"] = "apiVersion: fleetpdp/v1\nkind: Policy\nspec: {statements: 7}\n";
  BundleHolder holder;
  ReloaderOptions options = Unsigned(true);
  std::vector<ReloadPacer::Stats> paced;
  options.on_paced = [&](const ReloadPacer::Stats& s) { paced.push_back(s); };
  Reloader reloader(
      std::make_unique<QueueSource>(std::deque{Revision(1), Revision(2), std::move(bad)}), nullptr,
      options, holder, nullptr);
  ASSERT_OK(reloader.ReloadNow());
  EXPECT_TRUE(paced.empty()) << "nothing serves yet: the first load runs unpaced";
  ASSERT_OK(reloader.ReloadNow());
  ASSERT_EQ(paced.size(), 1u);
  EXPECT_GT(paced[0].points, 0u) << "the load reached the pacer installed on its thread";
  // A rejected revision is paced too, and the bundle in force keeps serving.
  EXPECT_FALSE(reloader.ReloadNow().ok());
  EXPECT_EQ(paced.size(), 2u);
  EXPECT_EQ(holder.Current()->metadata.revision, 2u);
  ASSERT_OK(reloader.ReloadNow());  // unchanged: nothing loaded, nothing reported
  EXPECT_EQ(paced.size(), 2u);
}

TEST(ReloaderTest, AWholeCoreShareTurnsPacingOff) {
  BundleHolder holder;
  ReloaderOptions options = Unsigned(true);
  options.reload_cpu_share = 1;
  int paced = 0;
  options.on_paced = [&](const ReloadPacer::Stats&) { ++paced; };
  Reloader reloader(std::make_unique<QueueSource>(std::deque{Revision(1), Revision(2)}), nullptr,
                    options, holder, nullptr);
  ASSERT_OK(reloader.ReloadNow());
  ASSERT_OK(reloader.ReloadNow());
  EXPECT_EQ(holder.Current()->metadata.revision, 2u);
  EXPECT_EQ(paced, 0);
}

TEST(ReloaderTest, ThePollingThreadRunsAtTheConfiguredNiceness) {
  BundleHolder holder;
  ReloaderOptions options = Unsigned(true);
  options.reload_nice = 7;
  Reloader reloader(std::make_unique<QueueSource>(std::deque{Revision(1)}), nullptr, options,
                    holder, nullptr);
  EXPECT_THAT(ThreadNiceness(), ::testing::Not(::testing::Contains(7)));
  reloader.Start(absl::Milliseconds(10));
  for (int i = 0; i < 200 && holder.Current() == nullptr; ++i)
    absl::SleepFor(absl::Milliseconds(5));
  ASSERT_NE(holder.Current(), nullptr);
  EXPECT_THAT(ThreadNiceness(), ::testing::Contains(7));
  EXPECT_EQ(getpriority(PRIO_PROCESS, 0), 0) << "only the reload thread is lowered";
  reloader.Stop();
}

}  // namespace
}  // namespace fleetpdp::server
