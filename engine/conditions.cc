#include "engine/conditions.h"

#include <algorithm>
#include <utility>

#include "absl/container/inlined_vector.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "engine/absl_compat.h"

namespace fleetpdp::engine {
namespace {

using C = Comparison;
using T = OperatorType;

constexpr OperatorInfo kOperators[] = {
    {"StringEquals", T::kString, C::kEquals, false},
    {"StringNotEquals", T::kString, C::kEquals, true},
    {"StringEqualsIgnoreCase", T::kStringIgnoreCase, C::kEquals, false},
    {"StringNotEqualsIgnoreCase", T::kStringIgnoreCase, C::kEquals, true},
    {"StringLike", T::kStringLike, C::kEquals, false},
    {"StringNotLike", T::kStringLike, C::kEquals, true},
    {"NumericEquals", T::kNumeric, C::kEquals, false},
    {"NumericNotEquals", T::kNumeric, C::kEquals, true},
    {"NumericLessThan", T::kNumeric, C::kLessThan, false},
    {"NumericLessThanEquals", T::kNumeric, C::kLessThanEquals, false},
    {"NumericGreaterThan", T::kNumeric, C::kGreaterThan, false},
    {"NumericGreaterThanEquals", T::kNumeric, C::kGreaterThanEquals, false},
    {"DateEquals", T::kDate, C::kEquals, false},
    {"DateNotEquals", T::kDate, C::kEquals, true},
    {"DateLessThan", T::kDate, C::kLessThan, false},
    {"DateLessThanEquals", T::kDate, C::kLessThanEquals, false},
    {"DateGreaterThan", T::kDate, C::kGreaterThan, false},
    {"DateGreaterThanEquals", T::kDate, C::kGreaterThanEquals, false},
    {"Bool", T::kBool, C::kEquals, false},
    {"IpAddress", T::kIp, C::kEquals, false},
    {"NotIpAddress", T::kIp, C::kEquals, true},
    {"SemverEquals", T::kSemver, C::kEquals, false},
    {"SemverAtLeast", T::kSemver, C::kGreaterThanEquals, false},
    {"SemverBelow", T::kSemver, C::kLessThan, false},
    {"Exists", T::kExists, C::kEquals, false},
};

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      bool same = absl::ascii_tolower(a[i - 1]) == absl::ascii_tolower(b[j - 1]);
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (same ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

}  // namespace

std::string UnknownOperatorMessage(std::string_view name) {
  std::string_view best;
  size_t best_distance = 4;  // suggest only close misspellings
  for (const OperatorInfo& op : kOperators) {
    size_t d = EditDistance(name, op.name);
    if (d < best_distance) {
      best_distance = d;
      best = op.name;
    }
  }
  std::string message = absl::StrCat("unknown operator \"", Absl(name), "\"");
  if (!best.empty()) absl::StrAppend(&message, " (did you mean \"", Absl(best), "\"?)");
  return message;
}

const OperatorInfo* FindOperator(std::string_view name) {
  for (const OperatorInfo& op : kOperators) {
    if (op.name == name) return &op;
  }
  return nullptr;
}

bool GlobTokens(const std::vector<GlobPart>& parts, const RequestView* view, GlobTokenList& out) {
  out.clear();
  for (const GlobPart& p : parts) {
    switch (p.kind) {
      case GlobPart::kLiteral:
        out.push_back(GlobToken{GlobToken::kLiteral, p.literal});
        break;
      case GlobPart::kStar:
        out.push_back(GlobToken{GlobToken::kStar, {}});
        break;
      case GlobPart::kQuestion:
        out.push_back(GlobToken{GlobToken::kQuestion, {}});
        break;
      case GlobPart::kVariable: {
        std::optional<std::string_view> v =
            view == nullptr ? std::nullopt : view->Scalar(p.variable);
        if (!v || v->empty()) return false;  // "${x}*" must not become "*"
        out.push_back(GlobToken{GlobToken::kLiteral, *v});
        break;
      }
    }
  }
  return true;
}

namespace {

// Splits a StringLike literal into parts: '*' and '?' become wildcards.
void AppendGlobParts(std::string_view literal, std::vector<GlobPart>& out) {
  std::string run;
  for (char c : literal) {
    if (c == '*' || c == '?') {
      if (!run.empty()) out.push_back(GlobPart{GlobPart::kLiteral, std::exchange(run, {}), {}});
      out.push_back(GlobPart{c == '*' ? GlobPart::kStar : GlobPart::kQuestion, {}, {}});
    } else {
      run.push_back(c);
    }
  }
  if (!run.empty()) out.push_back(GlobPart{GlobPart::kLiteral, std::move(run), {}});
}

template <typename V>
bool Compare(const V& a, const V& b, Comparison c) {
  switch (c) {
    case C::kEquals:
      return a == b;
    case C::kLessThan:
      return a < b;
    case C::kLessThanEquals:
      return a <= b;
    case C::kGreaterThan:
      return a > b;
    case C::kGreaterThanEquals:
      return a >= b;
  }
  return false;
}

bool CompareSemverWith(const Semver& a, const Semver& b, Comparison c) {
  return Compare(CompareSemver(a, b), 0, c);
}

// Whether a string operand's variables all have values for this request: present, single and
// non-empty (an empty one would silently turn "${x}*" into "*").
bool VariablesResolve(const Template& parts, const RequestView& view) {
  for (const TemplatePart& p : parts) {
    if (!p.is_variable) continue;
    std::optional<std::string_view> v = view.Scalar(p.variable);
    if (!v || v->empty()) return false;
  }
  return true;
}

// Whether `value` is exactly the operand's text with its variables substituted, compared piece by
// piece so that nothing is copied. REQUIRES: VariablesResolve(parts, view).
bool OperandEquals(const Template& parts, const RequestView& view, std::string_view value,
                   bool ignore_case) {
  for (const TemplatePart& p : parts) {
    std::string_view piece = p.is_variable ? view.Scalar(p.variable).value_or(std::string_view())
                                           : std::string_view(p.literal);
    if (value.size() < piece.size()) return false;
    std::string_view head = value.substr(0, piece.size());
    if (ignore_case ? !absl::EqualsIgnoreCase(Absl(head), Absl(piece)) : head != piece) {
      return false;
    }
    value.remove_prefix(piece.size());
  }
  return value.empty();
}

// Whether one attribute value matches one operand, for the operator's positive form. Returns
// nullopt when the attribute value does not parse as the operator's type.
class Matcher {
 public:
  Matcher(const CompiledCondition& c, const RequestView& view, ParsedValues* parsed)
      : c_(c), view_(view), parsed_(parsed) {}

  // Checks that operands with variables resolve (and builds glob tokens); false when one cannot
  // be resolved.
  bool Prepare() {
    if (c_.op->type == T::kString || c_.op->type == T::kStringIgnoreCase) {
      if (!c_.operands_have_variables) return true;
      for (const Template& operand : c_.strings) {
        if (!VariablesResolve(operand, view_)) return false;
      }
    } else if (c_.op->type == T::kStringLike) {
      globs_.resize(c_.globs.size());
      for (size_t i = 0; i < c_.globs.size(); ++i) {
        if (!GlobTokens(c_.globs[i], &view_, globs_[i])) return false;
      }
    }
    return true;
  }

  // Whether `value` satisfies the condition (negation applied); unknown when it does not parse.
  Truth Satisfies(std::string_view value) const {
    std::optional<bool> any = MatchesAny(value);
    if (!any) return Truth::kUnknown;
    return *any != c_.op->negated ? Truth::kTrue : Truth::kFalse;
  }

 private:
  std::optional<bool> MatchesAny(std::string_view value) const {
    switch (c_.op->type) {
      case T::kString:
      case T::kStringIgnoreCase: {
        const bool ignore_case = c_.op->type == T::kStringIgnoreCase;
        return std::any_of(c_.strings.begin(), c_.strings.end(), [&](const Template& operand) {
          return OperandEquals(operand, view_, value, ignore_case);
        });
      }
      case T::kStringLike:
        return std::any_of(globs_.begin(), globs_.end(),
                           [&](const auto& tokens) { return GlobMatch(tokens, value); });
      case T::kNumeric: {
        std::optional<double> n = parsed_ ? parsed_->Number(value) : ParseNumber(value);
        if (!n) return std::nullopt;
        return std::any_of(c_.numbers.begin(), c_.numbers.end(),
                           [&](double operand) { return Compare(*n, operand, c_.op->comparison); });
      }
      case T::kDate: {
        std::optional<absl::Time> t = parsed_ ? parsed_->Date(value) : ParseDate(value);
        if (!t) return std::nullopt;
        return std::any_of(c_.dates.begin(), c_.dates.end(), [&](absl::Time operand) {
          return Compare(*t, operand, c_.op->comparison);
        });
      }
      case T::kBool: {
        std::optional<bool> b = ParseBool(value);
        if (!b) return std::nullopt;
        return *b == c_.flag;
      }
      case T::kIp: {
        std::optional<IpAddress> a = parsed_ ? parsed_->Ip(value) : ParseIpAddress(value);
        if (!a) return std::nullopt;
        return std::any_of(c_.networks.begin(), c_.networks.end(),
                           [&](const IpNetwork& n) { return n.Contains(*a); });
      }
      case T::kSemver: {
        std::optional<Semver> own;
        const std::optional<Semver>* v = &own;
        if (parsed_ != nullptr) {
          v = &parsed_->Version(value);
        } else {
          own = ParseSemver(value);
        }
        if (!*v) return std::nullopt;
        return std::any_of(c_.semvers.begin(), c_.semvers.end(), [&](const Semver& operand) {
          return CompareSemverWith(**v, operand, c_.op->comparison);
        });
      }
      case T::kExists:
        break;
    }
    return std::nullopt;
  }

  const CompiledCondition& c_;
  const RequestView& view_;
  ParsedValues* parsed_;
  absl::InlinedVector<GlobTokenList, 2> globs_;
};

}  // namespace

absl::Span<const OperatorInfo> AllOperators() { return kOperators; }

// At most this many values of one type are kept: beyond it (a long ForAnyValue list), the last
// slot is reused, so a cache never grows without bound.
constexpr size_t kMaxParsedValues = 8;

template <typename T, size_t N, typename Parse>
const std::optional<T>& ParsedValues::Find(absl::InlinedVector<Slot<T>, N>& slots,
                                           std::string_view text, Parse parse) {
  for (Slot<T>& slot : slots) {
    if (slot.data == text.data() && slot.size == text.size()) return slot.value;
  }
  if (slots.size() == kMaxParsedValues) slots.pop_back();
  slots.push_back(Slot<T>{text.data(), text.size(), parse(text)});
  return slots.back().value;
}

const std::optional<double>& ParsedValues::Number(std::string_view text) {
  return Find(numbers_, text, ParseNumber);
}
const std::optional<absl::Time>& ParsedValues::Date(std::string_view text) {
  return Find(dates_, text, ParseDate);
}
const std::optional<IpAddress>& ParsedValues::Ip(std::string_view text) {
  return Find(ips_, text, ParseIpAddress);
}
const std::optional<Semver>& ParsedValues::Version(std::string_view text) {
  return Find(versions_, text, ParseSemver);
}

absl::StatusOr<CompiledCondition> CompileCondition(const Condition& condition) {
  CompiledCondition c;
  c.quantifier = condition.quantifier;
  c.op = FindOperator(condition.op);
  if (c.op == nullptr) return absl::InvalidArgumentError(UnknownOperatorMessage(condition.op));

  absl::StatusOr<AttributePath> key = ParseAttributePath(condition.key, /*for_variable=*/false);
  if (!key.ok()) return key.status();
  c.key = *std::move(key);

  if (c.op->type == T::kExists && c.quantifier != Quantifier::kSingle) {
    return absl::InvalidArgumentError("Exists takes no ForAnyValue:/ForAllValues: qualifier");
  }
  if (c.key.root == AttributePath::kPrincipalGroups && c.quantifier == Quantifier::kSingle &&
      c.op->type != T::kExists) {
    return absl::InvalidArgumentError(
        "principal.groups is a list: qualify the operator with ForAnyValue: or ForAllValues:");
  }
  if (condition.values.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(condition.op, " on \"", condition.key, "\" needs at least one value"));
  }
  if ((c.op->type == T::kBool || c.op->type == T::kExists) && condition.values.size() != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat(condition.op, " takes exactly one value, true or false"));
  }

  for (const std::string& value : condition.values) {
    auto bad = [&](std::string_view what) {
      return absl::InvalidArgumentError(
          absl::StrCat(condition.op, ": \"", value, "\" is not ", Absl(what)));
    };
    bool may_have_variables = c.op->type == T::kString || c.op->type == T::kStringIgnoreCase ||
                              c.op->type == T::kStringLike;
    if (!may_have_variables && value.find("${") != std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat(
          condition.op, ": variables are only allowed in String operators, found \"", value, "\""));
    }
    switch (c.op->type) {
      case T::kString:
      case T::kStringIgnoreCase: {
        absl::StatusOr<Template> t = ParseTemplate(value);
        if (!t.ok()) return t.status();
        c.operands_have_variables = c.operands_have_variables || HasVariables(*t);
        c.strings.push_back(*std::move(t));
        break;
      }
      case T::kStringLike: {
        absl::StatusOr<Template> t = ParseTemplate(value);
        if (!t.ok()) return t.status();
        c.operands_have_variables = c.operands_have_variables || HasVariables(*t);
        std::vector<GlobPart> parts;
        for (TemplatePart& p : *t) {
          if (p.is_variable) {
            parts.push_back(GlobPart{GlobPart::kVariable, {}, std::move(p.variable)});
          } else {
            AppendGlobParts(p.literal, parts);
          }
        }
        c.globs.push_back(std::move(parts));
        break;
      }
      case T::kNumeric: {
        std::optional<double> n = ParseNumber(value);
        if (!n) return bad("a number");
        c.numbers.push_back(*n);
        break;
      }
      case T::kDate: {
        std::optional<absl::Time> t = ParseDate(value);
        if (!t) return bad("an RFC 3339 date with a time zone, e.g. \"2026-01-31T00:00:00Z\"");
        c.dates.push_back(*t);
        break;
      }
      case T::kBool:
      case T::kExists: {
        std::optional<bool> b = ParseBool(value);
        if (!b) return bad("true or false");
        c.flag = *b;
        break;
      }
      case T::kIp: {
        std::optional<IpNetwork> n = ParseIpNetwork(value);
        if (!n) return bad("an IP address or CIDR block with zero host bits, e.g. \"10.0.0.0/8\"");
        c.networks.push_back(*n);
        break;
      }
      case T::kSemver: {
        std::optional<Semver> v = ParseSemver(value);
        if (!v) return bad("a semantic version, e.g. \"2.1.0\"");
        c.semvers.push_back(*std::move(v));
        break;
      }
    }
  }
  return c;
}

Truth EvaluateCondition(const CompiledCondition& c, const RequestView& view,
                        absl::Span<const std::string_view> groups, ParsedValues* parsed) {
  // The attribute's values: either the group set or a lookup.
  RequestView::Values values;
  const bool is_groups = c.key.root == AttributePath::kPrincipalGroups;
  if (!is_groups) values = view.Lookup(c.key);
  const bool found = is_groups || values.found;
  const size_t count = is_groups ? groups.size() : values.size();
  auto value_at = [&](size_t i) { return is_groups ? groups[i] : values.at(i); };

  if (c.op->type == T::kExists) {
    bool present = found && (!is_groups || !groups.empty());
    return present == c.flag ? Truth::kTrue : Truth::kFalse;
  }
  if (!found) return Truth::kUnknown;

  Matcher matcher(c, view, parsed);
  if (!matcher.Prepare()) return Truth::kUnknown;  // a variable in a value is missing
  switch (c.quantifier) {
    case Quantifier::kSingle:
      return count == 1 ? matcher.Satisfies(value_at(0)) : Truth::kUnknown;
    case Quantifier::kForAnyValue: {
      Truth result = Truth::kFalse;
      for (size_t i = 0; i < count; ++i) {
        Truth t = matcher.Satisfies(value_at(i));
        if (t == Truth::kTrue) return Truth::kTrue;
        if (t == Truth::kUnknown) result = Truth::kUnknown;
      }
      return result;
    }
    case Quantifier::kForAllValues: {
      Truth result = Truth::kTrue;
      for (size_t i = 0; i < count; ++i) {
        Truth t = matcher.Satisfies(value_at(i));
        if (t == Truth::kFalse) return Truth::kFalse;
        if (t == Truth::kUnknown) result = Truth::kUnknown;
      }
      return result;
    }
  }
  return Truth::kUnknown;
}

std::optional<PackedCondition> PackedCondition::Pack(const CompiledCondition& c) {
  if (c.quantifier != Quantifier::kSingle || c.operands_have_variables) return std::nullopt;
  if (c.key.root != AttributePath::kPrincipalAttribute && c.key.root != AttributePath::kContext) {
    return std::nullopt;
  }
  if (c.key.name.size() > kMaxName) return std::nullopt;
  PackedCondition p;
  p.negated_ = c.op->negated;
  p.comparison_ = c.op->comparison;
  p.root_ = c.key.root;
  p.name_size_ = static_cast<uint8_t>(c.key.name.size());
  c.key.name.copy(p.name_, c.key.name.size());
  switch (c.op->type) {
    case T::kString: {
      if (c.strings.size() != 1) return std::nullopt;
      std::string text;
      for (const TemplatePart& part : c.strings.front()) text += part.literal;
      if (text.size() > kMaxText) return std::nullopt;
      p.kind_ = Kind::kString;
      p.text_size_ = static_cast<uint8_t>(text.size());
      text.copy(p.text_, text.size());
      return p;
    }
    case T::kIp:
      if (c.networks.size() != 1) return std::nullopt;
      p.kind_ = Kind::kIp;
      p.network_ = c.networks.front();
      return p;
    case T::kSemver: {
      if (c.semvers.size() != 1 || !c.semvers.front().prerelease.empty()) return std::nullopt;
      const Semver& v = c.semvers.front();
      p.kind_ = Kind::kSemver;
      p.version_ = Version{v.major, v.minor, v.patch};
      return p;
    }
    default:
      return std::nullopt;
  }
}

bool operator==(const PackedCondition& a, const PackedCondition& b) {
  if (a.kind_ != b.kind_ || a.negated_ != b.negated_ || a.comparison_ != b.comparison_ ||
      a.root_ != b.root_ ||
      std::string_view(a.name_, a.name_size_) != std::string_view(b.name_, b.name_size_)) {
    return false;
  }
  switch (a.kind_) {
    case PackedCondition::Kind::kString:
      return std::string_view(a.text_, a.text_size_) == std::string_view(b.text_, b.text_size_);
    case PackedCondition::Kind::kIp:
      return a.network_.base == b.network_.base &&
             a.network_.prefix_length == b.network_.prefix_length;
    case PackedCondition::Kind::kSemver:
      return a.version_.major == b.version_.major && a.version_.minor == b.version_.minor &&
             a.version_.patch == b.version_.patch;
  }
  return false;
}

Truth PackedCondition::Evaluate(const RequestView& view, ParsedValues* parsed) const {
  // EvaluateCondition's kSingle path: one value, else unknown; a value that does not parse is
  // unknown; otherwise the operator, negation applied.
  const RequestView::Values values = view.Lookup(root_, std::string_view(name_, name_size_));
  if (!values.found || values.size() != 1) return Truth::kUnknown;
  const std::string_view value = values.at(0);
  bool matches = false;
  switch (kind_) {
    case Kind::kString:
      matches = value == std::string_view(text_, text_size_);
      break;
    case Kind::kIp: {
      std::optional<IpAddress> a = parsed ? parsed->Ip(value) : ParseIpAddress(value);
      if (!a) return Truth::kUnknown;
      matches = network_.Contains(*a);
      break;
    }
    case Kind::kSemver: {
      std::optional<Semver> own;
      const std::optional<Semver>* v = &own;
      if (parsed != nullptr) {
        v = &parsed->Version(value);
      } else {
        own = ParseSemver(value);
      }
      if (!*v) return Truth::kUnknown;
      Semver operand;
      operand.major = version_.major;
      operand.minor = version_.minor;
      operand.patch = version_.patch;
      matches = CompareSemverWith(**v, operand, comparison_);
      break;
    }
  }
  return matches != negated_ ? Truth::kTrue : Truth::kFalse;
}

bool ConditionsApply(absl::Span<const CompiledCondition> conditions, Effect effect,
                     const RequestView& view, absl::Span<const std::string_view> groups,
                     ParsedValues* parsed) {
  for (const CompiledCondition& c : conditions) {
    Truth t = EvaluateCondition(c, view, groups, parsed);
    if (t == Truth::kFalse) return false;
    if (t == Truth::kUnknown && effect == Effect::kAllow) return false;
  }
  return true;
}

}  // namespace fleetpdp::engine
