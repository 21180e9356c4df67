// Condition operators: compiled once per statement, evaluated per request.
//
//   absl::StatusOr<CompiledCondition> c = CompileCondition(condition);  // build errors here
//   bool applies = ConditionsApply(conditions, Effect::kAllow, view, groups);  // never fails
//   ParsedValues parsed;  // one per request: typed request values are parsed once
//   bool again = ConditionsApply(conditions, Effect::kDeny, view, groups, &parsed);
//
// Semantics (IAM-style, written down in docs/policy-language.md):
//   - a condition lists one or more values; a positive operator holds when the attribute matches
//     any of them, a negated one (StringNotEquals, NotIpAddress, …) when it matches none;
//   - without a quantifier the attribute must have exactly one value; ForAnyValue: holds when one
//     value matches, ForAllValues: when every value does (an empty list: yes);
//   - a condition that cannot be decided — the attribute is missing, a list where one value is
//     needed, a value that does not parse as the operator's type, or a variable in a condition
//     value that is missing or empty — is UNKNOWN. Uncertainty never helps a request: an allow
//     applies only when all its conditions hold; a deny applies unless one of its conditions
//     definitely fails. So a deny guarded by NotIpAddress cannot be dodged by leaving source_ip
//     out. Only Exists looks at presence and is never unknown.
//
// Thread safety: compiled conditions are immutable.
#ifndef FLEETPDP_ENGINE_CONDITIONS_H_
#define FLEETPDP_ENGINE_CONDITIONS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/hash/hash.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "engine/pattern.h"
#include "engine/policy.h"
#include "engine/values.h"

namespace fleetpdp::engine {

enum class OperatorType : uint8_t {
  kString,
  kStringIgnoreCase,
  kStringLike,
  kNumeric,
  kDate,
  kBool,
  kIp,
  kSemver,
  kExists
};
enum class Comparison : uint8_t {
  kEquals,
  kLessThan,
  kLessThanEquals,
  kGreaterThan,
  kGreaterThanEquals
};

struct OperatorInfo {
  std::string_view name;
  OperatorType type;
  Comparison comparison;
  bool negated;
};

// Every operator, in documentation order.
absl::Span<const OperatorInfo> AllOperators();

// The operator named `name` (without a ForAnyValue:/ForAllValues: qualifier), or null.
const OperatorInfo* FindOperator(std::string_view name);

// `unknown operator "StringEqual" (did you mean "StringEquals"?)`.
std::string UnknownOperatorMessage(std::string_view name);

// One part of a StringLike operand: literal text, a wildcard, or a variable whose value is inserted
// as literal text.
struct GlobPart {
  enum Kind : uint8_t { kLiteral, kStar, kQuestion, kVariable };
  Kind kind = kLiteral;
  std::string literal;
  AttributePath variable;
};

// The tokens GlobMatch (values.h) matches for one StringLike operand, each ${…} variable resolved
// through `view` into one literal token ('*' and '?' in its value match only themselves). False
// when a variable has no value, or an empty one ("${x}*" must not become "*"), or when `view` is
// null and the operand has a variable.
using GlobTokenList = absl::InlinedVector<GlobToken, 8>;
bool GlobTokens(const std::vector<GlobPart>& parts, const RequestView* view, GlobTokenList& out);

struct CompiledCondition {
  const OperatorInfo* op = nullptr;
  Quantifier quantifier = Quantifier::kSingle;
  AttributePath key;
  // Operands; which vector is used depends on op->type.
  std::vector<Template> strings;             // kString, kStringIgnoreCase
  std::vector<std::vector<GlobPart>> globs;  // kStringLike
  std::vector<double> numbers;
  std::vector<absl::Time> dates;
  std::vector<IpNetwork> networks;
  std::vector<Semver> semvers;
  bool flag = false;  // kBool, kExists
  // Whether any string or glob operand holds a ${…} variable; when none does, operands are
  // compared as written, without resolving anything per request.
  bool operands_have_variables = false;
};

// Checks the operator, quantifier, key and every value; the error names what is wrong, e.g.
// `unknown operator "StringEqual" (did you mean "StringEquals"?)`.
absl::StatusOr<CompiledCondition> CompileCondition(const Condition& condition);

enum class Truth : uint8_t { kFalse, kTrue, kUnknown };

// Typed request values parsed once per request instead of once per condition that reads them:
// the evaluator hands one to every condition of a decision, so `IpAddress` on
// `context.source_ip` parses the address once however many statements test it.
//
// Values are keyed by where their text lives (pointer and length), not by content, so a lookup
// costs no string comparison. REQUIRES: every text handed to one ParsedValues stays alive and
// unchanged while it is used — views into one request and the bundle's entities, which outlive
// a decision. Returned references are valid until the next call.
//
// Thread safety: none; one per request (it lives on the evaluating thread's stack).
class ParsedValues {
 public:
  const std::optional<double>& Number(std::string_view text);
  const std::optional<absl::Time>& Date(std::string_view text);
  const std::optional<IpAddress>& Ip(std::string_view text);
  const std::optional<Semver>& Version(std::string_view text);

 private:
  template <typename T>
  struct Slot {
    const char* data;
    size_t size;
    std::optional<T> value;
  };
  template <typename T, size_t N, typename Parse>
  static const std::optional<T>& Find(absl::InlinedVector<Slot<T>, N>& slots, std::string_view text,
                                      Parse parse);

  absl::InlinedVector<Slot<double>, 2> numbers_;
  absl::InlinedVector<Slot<absl::Time>, 2> dates_;
  absl::InlinedVector<Slot<IpAddress>, 2> ips_;
  absl::InlinedVector<Slot<Semver>, 2> versions_;
};

// One condition for one request. `groups` is the principal's expanded group set. `parsed`, when
// not null, caches parsed request values across the conditions of one request.
Truth EvaluateCondition(const CompiledCondition& condition, const RequestView& view,
                        absl::Span<const std::string_view> groups, ParsedValues* parsed = nullptr);

// A condition of one of the common simple shapes, packed into one small self-contained value so
// that testing it reads nothing but the request: no quantifier, a principal attribute or context
// key, and one operand without variables — StringEquals/StringNotEquals with a short text,
// IpAddress/NotIpAddress with one block, or a Semver comparison with a release version. The
// rule index keeps one beside each statement whose only condition has such a shape.
//
// REQUIRES: Evaluate(view, parsed) == EvaluateCondition(c, view, {}, parsed) for the condition
// `c` it was packed from (tests compare them).
class PackedCondition {
 public:
  static constexpr size_t kMaxName = 22;
  static constexpr size_t kMaxText = 30;

  // The packed form of `c`, or nullopt when `c` has another shape.
  static std::optional<PackedCondition> Pack(const CompiledCondition& c);

  Truth Evaluate(const RequestView& view, ParsedValues* parsed) const;

  // Same shape, key and operand: the same answer for every request.
  friend bool operator==(const PackedCondition& a, const PackedCondition& b);
  template <typename H>
  friend H AbslHashValue(H h, const PackedCondition& c) {
    h = H::combine(std::move(h), c.kind_, c.negated_, c.comparison_, c.root_,
                   absl::string_view(c.name_, c.name_size_));
    switch (c.kind_) {
      case Kind::kString:
        return H::combine(std::move(h), absl::string_view(c.text_, c.text_size_));
      case Kind::kIp:
        return H::combine(std::move(h), c.network_.base.v6, c.network_.base.bytes,
                          c.network_.prefix_length);
      case Kind::kSemver:
        return H::combine(std::move(h), c.version_.major, c.version_.minor, c.version_.patch);
    }
    return h;
  }

 private:
  enum class Kind : uint8_t { kString, kIp, kSemver };
  struct Version {
    uint64_t major, minor, patch;
  };

  Kind kind_ = Kind::kString;
  bool negated_ = false;
  Comparison comparison_ = Comparison::kEquals;
  AttributePath::Root root_ = AttributePath::kContext;
  uint8_t name_size_ = 0;
  char name_[kMaxName] = {};
  uint8_t text_size_ = 0;  // kString
  char text_[kMaxText] = {};
  IpNetwork network_;     // kIp
  Version version_ = {};  // kSemver
};

// Whether a statement with `effect` and these conditions applies (the rule above).
bool ConditionsApply(absl::Span<const CompiledCondition> conditions, Effect effect,
                     const RequestView& view, absl::Span<const std::string_view> groups,
                     ParsedValues* parsed = nullptr);

}  // namespace fleetpdp::engine

#endif  // FLEETPDP_ENGINE_CONDITIONS_H_
