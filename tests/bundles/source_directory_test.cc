#include "bundles/source_directory.h"

#include <filesystem>
#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "status_matchers.h"

namespace fleetpdp::bundles {
namespace {

namespace fs = std::filesystem;
using ::fleetpdp::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

class SourceDirectoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("fleetpdp-src-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
             "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_ / "policies");
  }
  void TearDown() override { fs::remove_all(root_); }

  void Write(const std::string& relative, const std::string& text) {
    fs::create_directories((root_ / relative).parent_path());
    std::ofstream(root_ / relative) << text;
  }

  fs::path root_;
};

constexpr char kPolicy[] = R"(apiVersion: fleetpdp/v1
kind: Policy
metadata: {name: p}
spec:
  principals: "*"
  statements:
    - {id: s, effect: allow, actions: [mqtt:publish], resources: ["t/#"]}
)";

TEST_F(SourceDirectoryTest, ReadsDocumentsFromTheThreeDirectoriesSortedByPath) {
  Write("policies/b.yaml", kPolicy);
  Write("policies/nested/a.json", "{}");
  Write("entities/e.yml", "x");
  Write("tests/t.yaml", "y");
  Write("policies/README.md", "not a document");
  Write("other/ignored.yaml", "z");
  auto files = ReadSourceDirectory(root_);
  ASSERT_TRUE(files.ok()) << files.status();
  std::vector<std::string> paths;
  for (const auto& f : *files) paths.push_back(f.path);
  EXPECT_THAT(paths, ElementsAre("entities/e.yml", "policies/b.yaml", "policies/nested/a.json",
                                 "tests/t.yaml"));
}

TEST_F(SourceDirectoryTest, MissingDirectoryIsNotFound) {
  EXPECT_THAT(ReadSourceDirectory(root_ / "nope"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("is not a directory")));
}

TEST_F(SourceDirectoryTest, DirectoryWithoutPoliciesIsRejected) {
  fs::remove_all(root_ / "policies");
  EXPECT_THAT(ReadSourceDirectory(root_), StatusIs(absl::StatusCode::kInvalidArgument,
                                                   HasSubstr("has no policies/ directory")));
}

TEST_F(SourceDirectoryTest, SymbolicLinksAreRejected) {
  Write("elsewhere.yaml", kPolicy);
  fs::create_symlink(root_ / "elsewhere.yaml", root_ / "policies" / "link.yaml");
  EXPECT_THAT(ReadSourceDirectory(root_),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("\"policies/link.yaml\" is a symbolic link")));
}

TEST_F(SourceDirectoryTest, CompileReportsProblemsWithRelativePaths) {
  Write("policies/bad.yaml", "apiVersion: fleetpdp/v1\nkind: Policy\nmetadata: {name: p}\n");
  EXPECT_THAT(CompileSourceDirectory(root_),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("policies/bad.yaml:1:1: missing required key \"spec\"")));
}

TEST_F(SourceDirectoryTest, CompilesPoliciesAndCollectsTests) {
  Write("policies/p.yaml", kPolicy);
  Write("tests/t.yaml", R"(apiVersion: fleetpdp/v1
kind: PolicyTest
metadata: {name: s}
cases:
  - {name: c, principal: d, action: mqtt:publish, resource: t/x, expect: allow}
)");
  auto source = CompileSourceDirectory(root_);
  ASSERT_TRUE(source.ok()) << source.status();
  EXPECT_EQ(source->index->statement_count(), 1u);
  ASSERT_EQ(source->tests.size(), 1u);
  EXPECT_EQ(source->tests[0].location.file, "tests/t.yaml");
}

}  // namespace
}  // namespace fleetpdp::bundles
