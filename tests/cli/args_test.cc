#include "cli/args.h"

#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "status_matchers.h"

namespace fleetpdp::cli {
namespace {

using ::fleetpdp::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

Args Make(std::vector<const char*> argv) {
  argv.insert(argv.begin(), "cmd");
  return Args(static_cast<int>(argv.size()), const_cast<char**>(argv.data()));
}

TEST(ArgsTest, ReadsSeparateAndJoinedValuesAndRepeatedFlags) {
  Args a = Make({"--bundle", "dir", "--group=g1", "--group", "g2", "pos"});
  EXPECT_EQ(a.Take("--bundle"), "dir");
  EXPECT_THAT(a.TakeAll("--group"), ElementsAre("g1", "g2"));
  EXPECT_THAT(a.TakePositional(), ElementsAre("pos"));
  EXPECT_OK(a.Finish());
}

TEST(ArgsTest, ASwitchFollowedByAPositionalLeavesThePositional) {
  Args a = Make({"--verbose", "dir"});
  EXPECT_TRUE(a.TakeSwitch("--verbose"));
  EXPECT_THAT(a.TakePositional(), ElementsAre("dir"));
  EXPECT_OK(a.Finish());
}

TEST(ArgsTest, UnknownFlagsAndStrayArgumentsAreErrors) {
  Args a = Make({"--bundel", "dir"});
  EXPECT_FALSE(a.Take("--bundle").has_value());
  EXPECT_THAT(a.Finish(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("unknown flag \"--bundel\"")));
  Args b = Make({"stray"});
  EXPECT_THAT(b.Finish(), StatusIs(absl::StatusCode::kInvalidArgument,
                                   HasSubstr("unexpected argument \"stray\"")));
}

TEST(ArgsTest, HelpIsRecognisedAnywhere) {
  EXPECT_TRUE(Make({"x", "--help"}).Help());
  EXPECT_TRUE(Make({"-h"}).Help());
  EXPECT_FALSE(Make({"x"}).Help());
}

TEST(ArgsTest, ValuesMayStartWithADashAfterEquals) {
  Args a = Make({"--resource=-x"});
  EXPECT_EQ(a.Take("--resource"), "-x");
}

TEST(SplitKeyValueTest, RequiresAnEqualsSignAndAKey) {
  std::string k, v;
  EXPECT_OK(SplitKeyValue("--attr", "region=eu=x", k, v));
  EXPECT_EQ(k, "region");
  EXPECT_EQ(v, "eu=x");
  EXPECT_THAT(SplitKeyValue("--attr", "region", k, v),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("--attr \"region\": expected key=value")));
  EXPECT_FALSE(SplitKeyValue("--attr", "=eu", k, v).ok());
}

}  // namespace
}  // namespace fleetpdp::cli
