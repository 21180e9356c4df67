// GoogleTest matchers for absl::Status, which Debian's Abseil 20220623 does not ship.
//
//   EXPECT_THAT(Parse(text), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("line 3")));
//   EXPECT_OK(status);
#ifndef FLEETPDP_TESTS_STATUS_MATCHERS_H_
#define FLEETPDP_TESTS_STATUS_MATCHERS_H_

#include <ostream>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fleetpdp::testing {

inline const absl::Status& GetStatus(const absl::Status& s) { return s; }
template <typename T>
const absl::Status& GetStatus(const absl::StatusOr<T>& s) {
  return s.status();
}

MATCHER_P2(StatusIs, code, message_matcher,
           "has code " + absl::StatusCodeToString(code) + " and a message that " +
               ::testing::DescribeMatcher<std::string>(message_matcher)) {
  const absl::Status& status = GetStatus(arg);
  *result_listener << "status is " << status;
  return status.code() == code &&
         ::testing::ExplainMatchResult(message_matcher, std::string(status.message()),
                                       result_listener);
}

MATCHER(IsOk, "is OK") {
  const absl::Status& status = GetStatus(arg);
  *result_listener << "status is " << status;
  return status.ok();
}

}  // namespace fleetpdp::testing

#define EXPECT_OK(expr) EXPECT_THAT((expr), ::fleetpdp::testing::IsOk())
#define ASSERT_OK(expr) ASSERT_THAT((expr), ::fleetpdp::testing::IsOk())

#endif  // FLEETPDP_TESTS_STATUS_MATCHERS_H_
