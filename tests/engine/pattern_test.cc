#include "engine/pattern.h"

#include "engine/engine_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "status_matchers.h"

namespace fleetpdp::engine {
namespace {

using ::fleetpdp::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(AttributePathTest, ParsesEveryRoot) {
  EXPECT_EQ(ParseAttributePath("principal.id", true)->root, AttributePath::kPrincipalId);
  EXPECT_EQ(ParseAttributePath("principal.type", true)->root, AttributePath::kPrincipalType);
  auto attr = ParseAttributePath("principal.attributes.fw.major", true);
  ASSERT_TRUE(attr.ok());
  EXPECT_EQ(attr->root, AttributePath::kPrincipalAttribute);
  EXPECT_EQ(attr->name, "fw.major");
  auto ctx = ParseAttributePath("context.source_ip", true);
  ASSERT_TRUE(ctx.ok());
  EXPECT_EQ(ctx->root, AttributePath::kContext);
  EXPECT_EQ(ctx->ToString(), "context.source_ip");
  EXPECT_EQ(ParseAttributePath("principal.groups", false)->root, AttributePath::kPrincipalGroups);
  EXPECT_EQ(ParseAttributePath("action", false)->root, AttributePath::kAction);
  EXPECT_EQ(ParseAttributePath("resource", false)->root, AttributePath::kResource);
}

TEST(AttributePathTest, VariablesMayNotNameListsOrTheRequestItself) {
  EXPECT_THAT(ParseAttributePath("principal.groups", true),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("unknown attribute path")));
  EXPECT_FALSE(ParseAttributePath("action", true).ok());
  EXPECT_FALSE(ParseAttributePath("resource", true).ok());
}

TEST(AttributePathTest, RejectsMisspelledAndMalformedPaths) {
  for (const char* bad : {"principle.id", "principal", "principal.attributes.", "context.",
                          "context.a b", "principal.attributes..x", "context.x.", ""}) {
    EXPECT_THAT(ParseAttributePath(bad, false),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("unknown attribute path")))
        << bad;
  }
}

TEST(TemplateTest, SplitsLiteralAndVariableParts) {
  auto t = ParseTemplate("cam-${principal.id}-${context.site}x");
  ASSERT_TRUE(t.ok());
  ASSERT_EQ(t->size(), 5u);
  EXPECT_EQ((*t)[0].literal, "cam-");
  EXPECT_TRUE((*t)[1].is_variable);
  EXPECT_EQ((*t)[2].literal, "-");
  EXPECT_EQ((*t)[3].variable.name, "site");
  EXPECT_EQ((*t)[4].literal, "x");
}

TEST(TemplateTest, RejectsUnterminatedEmptyAndNestedVariables) {
  EXPECT_THAT(ParseTemplate("a${principal.id"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no closing \"}\"")));
  EXPECT_THAT(ParseTemplate("${}"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("empty variable")));
  EXPECT_THAT(ParseTemplate("${a${b}"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("nested")));
  EXPECT_THAT(ParseTemplate("${principal.name}"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("variable \"${principal.name}\": unknown attribute path")));
}

TEST(ResourcePatternTest, ClassifiesLevels) {
  auto p = ParseResourcePattern("devices/${principal.id}/+/x-${context.a}/#");
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(p->levels.size(), 5u);
  EXPECT_EQ(p->levels[0].kind, PatternLevel::kLiteral);
  EXPECT_EQ(p->levels[1].kind, PatternLevel::kTemplate);
  EXPECT_EQ(p->levels[2].kind, PatternLevel::kPlus);
  EXPECT_EQ(p->levels[3].kind, PatternLevel::kTemplate);
  EXPECT_EQ(p->levels[4].kind, PatternLevel::kHash);
  EXPECT_TRUE(p->has_variables);
}

TEST(ResourcePatternTest, RejectsInvalidFilters) {
  EXPECT_THAT(ParseResourcePattern("a/#/b"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("must be the last level")));
  EXPECT_THAT(ParseResourcePattern("a+/b"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("must be a whole level")));
  EXPECT_FALSE(ParseResourcePattern("").ok());
}

Request WithAttribute(const std::string& key, const std::string& value) {
  Request r = testing::MakeRequest("dev", "mqtt:publish", "t");
  testing::AddAttribute(r.principal.attributes, key, value);
  return r;
}

TEST(ResolvePatternTest, SubstitutesWholeAndPartialLevels) {
  auto p = ParseResourcePattern("d/${principal.id}/s-${principal.attributes.site}/#");
  ASSERT_TRUE(p.ok());
  Request r = WithAttribute("site", "berlin");
  ResolvedPattern out;
  ASSERT_TRUE(ResolvePattern(*p, RequestView(r, nullptr), out));
  EXPECT_THAT(out.levels, ElementsAre("d", "dev", "s-berlin", "#"));
}

TEST(ResolvePatternTest, UnsafeOrMissingValuesMatchNothing) {
  auto p = ParseResourcePattern("d/${principal.attributes.site}");
  ASSERT_TRUE(p.ok());
  ResolvedPattern out;
  Request missing = testing::MakeRequest("dev", "mqtt:publish", "t");
  EXPECT_FALSE(ResolvePattern(*p, RequestView(missing, nullptr), out));
  for (const char* unsafe : {"", "a/b", "+", "#", "a+"}) {
    Request r = WithAttribute("site", unsafe);
    EXPECT_FALSE(ResolvePattern(*p, RequestView(r, nullptr), out)) << unsafe;
  }
  Request nul = WithAttribute("site", std::string("a\0b", 3));
  EXPECT_FALSE(ResolvePattern(*p, RequestView(nul, nullptr), out));
}

TEST(RequestViewTest, EntityAttributesWinAndRequestAttributesAdd) {
  Entity e;
  e.id = "dev";
  e.type = "service";
  e.attributes = {Attribute{"region", {"eu"}, false}};
  Request r = WithAttribute("region", "us");
  testing::AddAttribute(r.principal.attributes, "site", "b1");
  r.principal.type = "device";
  RequestView view(r, &e);
  EXPECT_EQ(view.Scalar({AttributePath::kPrincipalAttribute, "region"}), "eu");
  EXPECT_EQ(view.Scalar({AttributePath::kPrincipalAttribute, "site"}), "b1");
  EXPECT_EQ(view.principal_type(), "service");
  EXPECT_FALSE(view.Scalar({AttributePath::kContext, "site"}).has_value());
}

TEST(RequestViewTest, ListAttributesAreNotScalarsUnlessTheyHoldOneValue) {
  Request r = testing::MakeRequest("dev", "mqtt:publish", "t");
  r.principal.attributes.push_back(Attribute{"two", {"a", "b"}, true});
  r.principal.attributes.push_back(Attribute{"one", {"a"}, true});
  RequestView view(r, nullptr);
  EXPECT_FALSE(view.Scalar({AttributePath::kPrincipalAttribute, "two"}).has_value());
  EXPECT_EQ(view.Scalar({AttributePath::kPrincipalAttribute, "one"}), "a");
  EXPECT_EQ(view.Lookup({AttributePath::kPrincipalAttribute, "two"}).size(), 2u);
}

}  // namespace
}  // namespace fleetpdp::engine
