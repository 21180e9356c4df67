// AWS IoT Core policy → FleetPDP policy. The rules, with the reason for each, are in
// docs/lifecycle-import.md; the comments here say what must stay true.
//
// Invariant (the promise of aws_iot_import.h): for every request FleetPDP can be asked, the
// output allows it only if the AWS policy allowed it. Hence
//   - an allow statement may lose actions or resources (narrower, a warning) but never a
//     condition: a condition that cannot be converted skips the whole allow (an error);
//   - a deny statement may lose conditions (it then applies more often: narrower, a warning) but
//     never an action or resource that FleetPDP can be asked about: such a part is an error, and
//     the rest of the deny is kept, because skipping it would allow more;
//   - every resource pattern written covers at least what AWS's resource matched (for a deny) and
//     at most that (for an allow, together with the StringLike condition on `resource` that
//     reproduces the IAM glob where MQTT levels cannot).
#include "cli/aws_iot_import.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <type_traits>
#include <utility>

#include "absl/strings/ascii.h"
#include "engine/conditions.h"
#include "engine/parser.h"
#include "engine/rule_index.h"
#include "nlohmann/json.hpp"
#include "yaml-cpp/yaml.h"

namespace fleetpdp::cli {
namespace {

using Json = nlohmann::json;

// std::string_view text helpers (Debian's Abseil string utilities take absl::string_view only).
inline void AppendPart(std::string& out, std::string_view s) { out.append(s); }
inline void AppendPart(std::string& out, const char* s) { out.append(s); }
inline void AppendPart(std::string& out, const std::string& s) { out.append(s); }
inline void AppendPart(std::string& out, absl::string_view s) { out.append(s.data(), s.size()); }
inline void AppendPart(std::string& out, char c) { out += c; }
template <typename N>
requires std::is_integral_v<N>
inline void AppendPart(std::string& out, N n) { out += std::to_string(n); }
template <typename... T>
std::string Cat(const T&... parts) {
  std::string out;
  (AppendPart(out, parts), ...);
  return out;
}
template <typename C>
std::string Join(const C& items, std::string_view sep) {
  std::string out;
  bool first = true;
  for (const auto& item : items) {
    if (!first) out.append(sep);
    out.append(std::string_view(item));
    first = false;
  }
  return out;
}
std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = absl::ascii_tolower(c);
  return out;
}
bool Contains(std::string_view s, std::string_view part) {
  return s.find(part) != std::string_view::npos;
}
std::vector<std::string_view> Split(std::string_view s, char sep, size_t max_parts = SIZE_MAX) {
  std::vector<std::string_view> out;
  while (out.size() + 1 < max_parts) {
    size_t at = s.find(sep);
    if (at == std::string_view::npos) break;
    out.push_back(s.substr(0, at));
    s.remove_prefix(at + 1);
  }
  out.push_back(s);
  return out;
}

// Which kind of AWS resource an MQTT action is checked against, and so how its FleetPDP resource
// is matched: a client id, a topic name, or (subscribe) a topic filter.
enum class Kind { kConnect, kTopic, kFilter };
constexpr Kind kKinds[] = {Kind::kConnect, Kind::kTopic, Kind::kFilter};

struct MqttAction {
  std::string_view aws;
  std::string_view fleet;
  Kind kind;
};
constexpr MqttAction kMqttActions[] = {
    {"iot:Connect", "mqtt:connect", Kind::kConnect},
    {"iot:Publish", "mqtt:publish", Kind::kTopic},
    {"iot:Receive", "mqtt:receive", Kind::kTopic},
    {"iot:RetainPublish", "mqtt:retain", Kind::kTopic},
    {"iot:Subscribe", "mqtt:subscribe", Kind::kFilter},
};

std::string_view ArnType(Kind kind) {
  switch (kind) {
    case Kind::kConnect:
      return "client";
    case Kind::kTopic:
      return "topic";
    case Kind::kFilter:
      return "topicfilter";
  }
  return "";
}

std::string_view KindSuffix(Kind kind) {
  switch (kind) {
    case Kind::kConnect:
      return "connect";
    case Kind::kTopic:
      return "topics";
    case Kind::kFilter:
      return "subscribe";
  }
  return "";
}

std::string Quote(std::string_view s) { return Json(std::string(s)).dump(); }

// IAM globs on action names: '*' any run, '?' one character, ASCII case-insensitive.
bool ActionGlobMatch(std::string_view pattern, std::string_view text) {
  size_t p = 0, t = 0, star_p = std::string_view::npos, star_t = 0;
  while (t < text.size()) {
    if (p < pattern.size() &&
        (pattern[p] == '?' || absl::ascii_tolower(pattern[p]) == absl::ascii_tolower(text[t]))) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star_p = p++;
      star_t = t;
    } else if (star_p != std::string_view::npos) {
      p = star_p + 1;
      t = ++star_t;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

bool IsIdChar(char c) { return absl::ascii_isalnum(c) || c == '-' || c == '_' || c == '.'; }

std::string SanitizeId(std::string_view text) {
  std::string out;
  for (char c : text) out += IsIdChar(c) ? c : '-';
  return out;
}

bool IsAttributeName(std::string_view name) {
  if (name.empty() || name.front() == '.' || name.back() == '.') return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return absl::ascii_isalnum(c) || c == '_' || c == '-' || c == '.' || c == ':';
  });
}

// Collects issues; notes with the same message are reported once (the first place).
class Issues {
 public:
  explicit Issues(std::vector<ImportIssue>& out) : out_(out) {}
  void Add(ImportSeverity severity, std::string pointer, std::string message) {
    if (severity == ImportSeverity::kNote && !notes_.insert(message).second) return;
    for (const ImportIssue& i : out_) {
      if (i.severity == severity && i.pointer == pointer && i.message == message) return;
    }
    out_.push_back({severity, std::move(pointer), 0, 0, std::move(message)});
  }
  void Note(std::string p, std::string m) {
    Add(ImportSeverity::kNote, std::move(p), std::move(m));
  }
  void Warn(std::string p, std::string m) {
    Add(ImportSeverity::kWarning, std::move(p), std::move(m));
  }
  void Error(std::string p, std::string m) {
    Add(ImportSeverity::kError, std::move(p), std::move(m));
  }

 private:
  std::vector<ImportIssue>& out_;
  std::set<std::string> notes_;
};

// An AWS policy variable or condition key in FleetPDP terms.
struct Mapped {
  std::string path;  // FleetPDP attribute path
  std::string note;  // an assumption to report, or empty
};

// `name` is a condition key or the inside of "${…}". Case-insensitive, as IAM treats keys.
absl::StatusOr<Mapped> MapKey(std::string_view name) {
  std::string lower = Lower(name);
  if (lower == "iot:clientid") return Mapped{"principal.id", ""};
  if (lower == "iot:connection.thing.thingname") {
    return Mapped{"principal.id",
                  "iot:Connection.Thing.ThingName became principal.id: this assumes each thing "
                  "connects with its thing name as MQTT client id (FleetPDP's principal id)"};
  }
  constexpr std::string_view kAttributes = "iot:connection.thing.attributes[";
  if (std::string_view(lower).starts_with(kAttributes) && std::string_view(lower).ends_with("]")) {
    std::string_view attr = name.substr(kAttributes.size(), name.size() - kAttributes.size() - 1);
    if (!IsAttributeName(attr)) {
      return absl::InvalidArgumentError(
          Cat("thing attribute name ", Quote(attr),
              " cannot be a FleetPDP attribute name (letters, digits, '_', '-', '.', ':')"));
    }
    return Mapped{Cat("principal.attributes.", attr), ""};
  }
  if (lower == "iot:connection.thing.thingtypename") {
    return Mapped{"principal.attributes.thing_type",
                  "iot:Connection.Thing.ThingTypeName became principal.attributes.thing_type: "
                  "give each device that attribute in the bundle's entities"};
  }
  if (lower == "iot:connection.thing.isattached") {
    return absl::InvalidArgumentError(
        "iot:Connection.Thing.IsAttached has no FleetPDP equivalent (FleetPDP knows no "
        "certificate-to-thing attachment; a device the bundle's entities declare is the closest)");
  }
  constexpr std::string_view kCertificate = "iot:certificate.";
  if (std::string_view(lower).starts_with(kCertificate)) {
    std::string_view rest = name.substr(kCertificate.size());
    if (!IsAttributeName(rest)) {
      return absl::InvalidArgumentError(
          Cat("certificate variable ", Quote(name), " has no FleetPDP attribute name"));
    }
    return Mapped{Cat("context.certificate.", rest),
                  Cat(name, " became context.certificate.", rest,
                      ": the caller (broker plugin) must send that context attribute; "
                      "without it an allow does not apply and a deny does")};
  }
  if (lower == "aws:sourceip") return Mapped{"context.source_ip", ""};
  if (lower == "aws:currenttime") {
    return Mapped{"context.time",
                  "aws:CurrentTime became context.time: FleetPDP has no clock of its own, the "
                  "caller must send the time"};
  }
  return absl::InvalidArgumentError(
      Cat("unknown or unsupported key ", Quote(name),
          " (FleetPDP converts iot:ClientId, iot:Connection.Thing.ThingName, "
          "iot:Connection.Thing.Attributes[NAME], iot:Connection.Thing.ThingTypeName, "
          "iot:Certificate.*, aws:SourceIp, aws:CurrentTime)"));
}

// A resource or condition value after substituting variables.
struct Token {
  enum Type { kChar, kStar, kQuestion, kVar } type = kChar;
  char c = 0;            // kChar
  std::string path;      // kVar: FleetPDP attribute path
  bool escaped = false;  // kChar from ${*}, ${?} or ${$}
};

// Splits `text` into characters, IAM wildcards (when `wildcards`) and variables.
absl::StatusOr<std::vector<Token>> Tokenize(std::string_view text, bool wildcards,
                                            std::vector<std::string>& notes) {
  std::vector<Token> out;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '$' && i + 1 < text.size() && text[i + 1] == '{') {
      size_t end = text.find('}', i + 2);
      if (end == std::string_view::npos) {
        return absl::InvalidArgumentError(
            Cat("variable in ", Quote(text), " has no closing \"}\""));
      }
      std::string_view name = text.substr(i + 2, end - i - 2);
      if (name == "*" || name == "?" || name == "$") {
        out.push_back({Token::kChar, name[0], "", true});
      } else {
        absl::StatusOr<Mapped> m = MapKey(name);
        if (!m.ok()) {
          return absl::InvalidArgumentError(Cat("variable ${", name, "}: ", m.status().message()));
        }
        if (!m->note.empty()) notes.push_back(m->note);
        out.push_back({Token::kVar, 0, m->path, false});
      }
      i = end;
    } else if (wildcards && c == '*') {
      out.push_back({Token::kStar, 0, "", false});
    } else if (wildcards && c == '?') {
      out.push_back({Token::kQuestion, 0, "", false});
    } else {
      out.push_back({Token::kChar, c, "", false});
    }
  }
  return out;
}

using Tokens = std::vector<Token>;

// As FleetPDP text where '*' and '?' are not special (a pattern level, a StringEquals value).
// REQUIRES: no kStar/kQuestion.
std::string RenderLiteral(const Tokens& tokens) {
  std::string out;
  for (const Token& t : tokens) {
    if (t.type == Token::kVar) {
      out += Cat("${", t.path, "}");
    } else {
      out += t.c;
    }
  }
  return out;
}

// As a FleetPDP StringLike glob. FleetPDP globs have no escape, so a literal '*' or '?' cannot be
// written: nullopt.
std::optional<std::string> RenderGlob(const Tokens& tokens) {
  std::string out;
  for (const Token& t : tokens) {
    switch (t.type) {
      case Token::kStar:
        out += '*';
        break;
      case Token::kQuestion:
        out += '?';
        break;
      case Token::kVar:
        out += Cat("${", t.path, "}");
        break;
      case Token::kChar:
        if (t.c == '*' || t.c == '?') return std::nullopt;
        out += t.c;
        break;
    }
  }
  return out;
}

bool IsWild(const Token& t) { return t.type == Token::kStar || t.type == Token::kQuestion; }
bool HasWild(const Tokens& ts) { return std::any_of(ts.begin(), ts.end(), IsWild); }
bool HasVar(const Tokens& ts) {
  return std::any_of(ts.begin(), ts.end(), [](const Token& t) { return t.type == Token::kVar; });
}
bool HasMqttWildcardChar(const Tokens& ts) {
  return std::any_of(ts.begin(), ts.end(), [](const Token& t) {
    return t.type == Token::kChar && (t.c == '+' || t.c == '#');
  });
}

std::vector<Tokens> SplitLevels(const Tokens& tokens) {
  std::vector<Tokens> levels(1);
  for (const Token& t : tokens) {
    if (t.type == Token::kChar && t.c == '/') {
      levels.emplace_back();
    } else {
      levels.back().push_back(t);
    }
  }
  return levels;
}

std::string JoinLevels(const std::vector<Tokens>& levels, size_t count) {
  std::vector<std::string> parts;
  for (size_t i = 0; i < count; ++i) parts.push_back(RenderLiteral(levels[i]));
  return Join(parts, "/");
}

// One AWS resource translated for one kind of action.
struct Translated {
  std::vector<std::string> patterns;
  std::string glob;        // the AWS resource as a StringLike glob on `resource`
  bool need_glob = false;  // the patterns alone would match more than AWS
};

enum class Outcome { kOk, kNeverMatches, kError };

struct ResourceContext {
  Issues& issues;
  std::string pointer;
  bool deny = false;
};

// Translates the part after "topic/", "topicfilter/" or "client/" (or "*" for every resource).
Outcome TranslateResource(Kind kind, std::string_view aws_name, const std::string& arn_text,
                          ResourceContext& ctx, Translated& out) {
  std::vector<std::string> notes;
  absl::StatusOr<Tokens> tokens = Tokenize(aws_name, /*wildcards=*/true, notes);
  if (!tokens.ok()) {
    ctx.issues.Error(ctx.pointer, std::string(tokens.status().message()));
    return Outcome::kError;
  }
  for (std::string& n : notes) ctx.issues.Note(ctx.pointer, std::move(n));
  const std::vector<Tokens> levels = SplitLevels(*tokens);
  const bool wild = HasWild(*tokens);
  const bool vars = HasVar(*tokens);

  if (kind == Kind::kTopic && HasMqttWildcardChar(*tokens)) {
    ctx.issues.Warn(
        ctx.pointer,
        Cat("\"+\" and \"#\" are literal characters in AWS topic/ resources, not MQTT "
            "wildcards, and no PUBLISH topic (so no received message) can contain them: ",
            Quote(arn_text),
            " never matches in AWS either; dropped (for any topic below a level, AWS "
            "needs topic/…/*)"));
    return Outcome::kNeverMatches;
  }
  if (kind == Kind::kConnect && HasMqttWildcardChar(*tokens)) {
    ctx.issues.Warn(ctx.pointer, Cat("FleetPDP refuses client ids containing \"+\" or "
                                     "\"#\" in every request, so ",
                                     Quote(arn_text), " can never apply; dropped"));
    return Outcome::kNeverMatches;
  }
  bool filter_wildcards = false;
  if (kind == Kind::kFilter) {
    // A requested filter is a valid MQTT filter, compared with the AWS text: a level (without
    // IAM wildcards) holding '+' or '#' can only match when it is exactly "+", or "#" at the end.
    for (size_t i = 0; i < levels.size(); ++i) {
      const Tokens& level = levels[i];
      if (HasWild(level) || !HasMqttWildcardChar(level)) continue;
      const bool whole = level.size() == 1 && level[0].type == Token::kChar;
      const bool ok = whole && (level[0].c == '+' || (level[0].c == '#' && i + 1 == levels.size()));
      if (!ok) {
        ctx.issues.Warn(ctx.pointer,
                        Cat(Quote(arn_text),
                            " can never equal a valid MQTT topic filter (\"+\" must be a "
                            "whole level, \"#\" the whole last level), so it never "
                            "matches a SUBSCRIBE in AWS either; dropped"));
        return Outcome::kNeverMatches;
      }
      filter_wildcards = true;
    }
  }

  std::optional<std::string> glob = RenderGlob(*tokens);
  const size_t n = levels.size();
  // Exactly one '*', alone as the last level ("a/b/*"): for topic names and client ids the MQTT
  // pattern "a/b/+/#" matches exactly the same texts ("a/b/#" would also match "a/b").
  const bool trailing_star = kind != Kind::kFilter &&
                             std::count_if(tokens->begin(), tokens->end(), IsWild) == 1 &&
                             levels.back().size() == 1 && levels.back()[0].type == Token::kStar;
  const bool vars_to_glob = ctx.deny && vars;  // see below

  if (trailing_star && !vars_to_glob) {
    out.patterns.push_back(n == 1 ? "#" : JoinLevels(levels, n - 1) + "/+/#");
    if (n > 1) {
      ctx.issues.Note(ctx.pointer,
                      Cat("IAM \"*\" at the end of ", Quote(arn_text),
                          " matches any number of levels below ", Quote(JoinLevels(levels, n - 1)),
                          " but not that level itself: converted to ", Quote(out.patterns.back()),
                          " (\"/#\" would also match ", Quote(JoinLevels(levels, n - 1)), ")"));
    }
  } else if (kind == Kind::kFilter && ctx.deny && !wild && !vars_to_glob) {
    // A deny on a filter without IAM wildcards: FleetPDP's deny applies to every requested
    // filter that overlaps the pattern, a superset of AWS's "the same text". Stricter, and what
    // such a deny is meant to say (AWS's text comparison is the classic pitfall: denying
    // topicfilter/a/# does not stop a SUBSCRIBE to "a/+" or "#").
    out.patterns.push_back(RenderLiteral(*tokens));
    ctx.issues.Warn(ctx.pointer,
                    Cat("stricter than AWS: AWS denied only a SUBSCRIBE whose filter is the text ",
                        Quote(RenderLiteral(*tokens)),
                        "; FleetPDP denies every filter that overlaps it (such as \"#\")"));
  } else if (!wild && !filter_wildcards && !vars_to_glob) {
    out.patterns.push_back(RenderLiteral(*tokens));
  } else if (glob && *glob == "*") {
    // "*" matches every text: the pattern "#" (below) says the same without a condition.
    out.patterns.emplace_back("#");
  } else {
    // The MQTT pattern is a superset — the literal levels before the first level with an IAM
    // wildcard, then "#" — and a StringLike condition on the resource text reproduces AWS's
    // match exactly.
    out.need_glob = true;
    if (!glob) {
      ctx.issues.Error(ctx.pointer,
                       Cat(Quote(arn_text),
                           " needs a StringLike condition but holds a literal \"*\" or "
                           "\"?\" (${*}, ${?}), which FleetPDP globs cannot escape"));
      return Outcome::kError;
    }
    size_t prefix = 0;
    while (prefix < n && !HasWild(levels[prefix]) && !(vars_to_glob && HasVar(levels[prefix]))) {
      ++prefix;
    }
    if (prefix == n) {
      out.patterns.push_back(RenderLiteral(*tokens));
    } else {
      out.patterns.push_back(prefix == 0 ? "#" : JoinLevels(levels, prefix) + "/#");
    }
    if (wild) {
      ctx.issues.Note(ctx.pointer,
                      Cat("IAM wildcards in ", Quote(arn_text),
                          " (\"*\" matches any characters, \"/\" included; \"?\" one character) "
                          "cannot be an MQTT pattern: converted to the pattern ",
                          Quote(out.patterns.back()),
                          " plus a StringLike condition on resource that matches exactly what AWS "
                          "matches"));
    }
    if (filter_wildcards && !ctx.deny) {
      ctx.issues.Note(ctx.pointer,
                      Cat("AWS compares the requested filter with ", Quote(arn_text),
                          " as text; FleetPDP's pattern alone would also allow every narrower "
                          "filter (containment): a StringLike condition on resource keeps AWS's "
                          "meaning"));
    }
    if (vars_to_glob) {
      ctx.issues.Note(ctx.pointer,
                      "in a deny, variables go into the StringLike condition rather than the "
                      "pattern: a FleetPDP pattern whose variable has no usable value matches "
                      "nothing, which would let the request past the deny");
    }
  }
  out.glob = glob.value_or("");

  // Does the pattern start with a wildcard level while AWS's resource could match a text that
  // starts with "$"?
  const std::string& first_pattern = out.patterns.front();
  const bool pattern_first_wild = first_pattern == "#" || first_pattern == "+" ||
                                  first_pattern.starts_with("#/") ||
                                  first_pattern.starts_with("+/");
  const Token& first_token = tokens->front();
  const bool could_be_dollar = IsWild(first_token) || first_token.type == Token::kVar ||
                               (first_token.type == Token::kChar && first_token.c == '$');
  if (pattern_first_wild && could_be_dollar) {
    // FleetPDP wildcards in the first level never match "$" topics (MQTT 4.7.2); AWS's '*' does.
    // AWS IoT's only "$" topics are "$aws/…": naming them keeps the conversion exact for AWS's
    // topic space.
    if (kind != Kind::kConnect) {
      out.patterns.emplace_back("$aws/#");
      if (ctx.deny) {
        ctx.issues.Warn(ctx.pointer,
                        Cat("a leading wildcard never matches topics starting with \"$\" "
                            "in FleetPDP: the deny for ",
                            Quote(arn_text),
                            " also names \"$aws/#\" (AWS IoT's reserved topics) but does "
                            "not cover other \"$\" topics such as a broker's $SYS/…"));
      } else {
        ctx.issues.Note(ctx.pointer,
                        Cat("a leading wildcard never matches topics starting with \"$\" "
                            "in FleetPDP: ",
                            Quote(arn_text),
                            " also became \"$aws/#\" (AWS IoT's reserved topics); other "
                            "\"$\" topics, such as a broker's $SYS/…, are not allowed"));
      }
    } else {
      ctx.issues.Add(ctx.deny ? ImportSeverity::kWarning : ImportSeverity::kNote, ctx.pointer,
                     Cat("a leading wildcard never matches client ids starting with "
                         "\"$\" in FleetPDP: ",
                         Quote(arn_text), " does not cover them"));
    }
  }
  return Outcome::kOk;
}

// A parsed resource ARN.
struct Arn {
  bool all = false;  // "*", or an ARN whose resource part is "*"
  std::string type;  // "topic", "thing", …
  std::string name;  // after "type/"
};

absl::StatusOr<Arn> ParseArn(std::string_view text) {
  if (text == "*") return Arn{true, "", ""};
  auto malformed = [&](std::string_view why) {
    return absl::InvalidArgumentError(
        Cat("malformed resource ", Quote(text), ": ", why,
            R"( (expected "*" or "arn:aws:iot:REGION:ACCOUNT:TYPE/NAME"))"));
  };
  std::vector<std::string_view> parts = Split(text, ':', 6);
  if (parts.size() != 6 || parts[0] != "arn") return malformed("not an ARN");
  if (parts[1] != "aws" && parts[1] != "aws-cn" && parts[1] != "aws-us-gov") {
    return malformed(Cat("unknown partition ", Quote(parts[1])));
  }
  if (parts[2] != "iot") {
    return malformed(Cat("service ", Quote(parts[2]), " is not \"iot\""));
  }
  std::string_view resource = parts[5];
  if (resource == "*") return Arn{true, "", ""};
  size_t slash = resource.find('/');
  if (slash == std::string_view::npos || slash == 0) {
    return malformed("the resource part needs a type and a name, like topic/NAME");
  }
  std::string_view type = resource.substr(0, slash);
  if (type.find_first_of("*?") != std::string_view::npos) {
    return malformed(Cat("a wildcard in the resource type ", Quote(type),
                         " cannot be converted; name the type (client, topic, "
                         "topicfilter)"));
  }
  if (resource.size() == slash + 1) return malformed("empty name after the type");
  return Arn{false, std::string(type), std::string(resource.substr(slash + 1))};
}

// Conditions in FleetPDP form: operator → attribute path → values.
using ConditionMap = std::map<std::string, std::map<std::string, std::vector<std::string>>>;

constexpr std::string_view kSupportedOperators[] = {"StringEquals",
                                                    "StringNotEquals",
                                                    "StringEqualsIgnoreCase",
                                                    "StringNotEqualsIgnoreCase",
                                                    "StringLike",
                                                    "StringNotLike",
                                                    "NumericEquals",
                                                    "NumericNotEquals",
                                                    "NumericLessThan",
                                                    "NumericLessThanEquals",
                                                    "NumericGreaterThan",
                                                    "NumericGreaterThanEquals",
                                                    "DateEquals",
                                                    "DateNotEquals",
                                                    "DateLessThan",
                                                    "DateLessThanEquals",
                                                    "DateGreaterThan",
                                                    "DateGreaterThanEquals",
                                                    "Bool",
                                                    "IpAddress",
                                                    "NotIpAddress"};

std::string EscapePointer(std::string_view key) {
  std::string out;
  for (char c : key) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

std::optional<std::vector<std::string>> ScalarValues(const Json& v) {
  std::vector<std::string> out;
  auto one = [&](const Json& x) {
    if (x.is_string()) {
      out.push_back(x.get<std::string>());
    } else if (x.is_boolean()) {
      out.emplace_back(x.get<bool>() ? "true" : "false");
    } else if (x.is_number()) {
      out.push_back(x.dump());
    } else {
      return false;
    }
    return true;
  };
  if (v.is_array()) {
    for (const Json& x : v) {
      if (!one(x)) return std::nullopt;
    }
    if (out.empty()) return std::nullopt;
  } else if (!one(v)) {
    return std::nullopt;
  }
  return out;
}

// Converts one "Key": values entry under an operator. Error: why it cannot be converted.
absl::Status ConvertConditionEntry(std::string_view aws_op, std::string_view key, const Json& value,
                                   bool deny, const std::string& pointer, Issues& issues,
                                   ConditionMap& out) {
  std::string_view op = aws_op;
  std::string quantifier;
  for (std::string_view q : {"ForAnyValue:", "ForAllValues:"}) {
    if (std::string_view(op).starts_with(q)) {
      quantifier = std::string(q);
      op.remove_prefix(q.size());
    }
  }
  bool if_exists = false;
  if (std::string_view(op).ends_with("IfExists")) {
    if_exists = true;
    op.remove_suffix(std::string_view("IfExists").size());
  }
  std::optional<std::vector<std::string>> values = ScalarValues(value);
  if (!values) {
    return absl::InvalidArgumentError(
        "condition values must be a string, number or boolean, or a non-empty list of them");
  }
  absl::StatusOr<Mapped> mapped = MapKey(key);
  if (!mapped.ok()) return mapped.status();
  if (!mapped->note.empty()) issues.Note(pointer, mapped->note);

  std::string fleet_op;
  if (op == "Null") {
    if (!quantifier.empty() || if_exists) {
      return absl::InvalidArgumentError("Null takes no qualifier");
    }
    std::optional<bool> absent =
        values->size() == 1 ? engine::ParseBool((*values)[0]) : std::nullopt;
    if (!absent) return absl::InvalidArgumentError("Null takes exactly one value, true or false");
    fleet_op = "Exists";
    values = std::vector<std::string>{*absent ? "false" : "true"};
  } else if (std::find(std::begin(kSupportedOperators), std::end(kSupportedOperators), op) !=
             std::end(kSupportedOperators)) {
    fleet_op = quantifier + std::string(op);
    const bool strings = std::string_view(op).starts_with("String");
    const bool like = Contains(op, "Like");
    for (std::string& v : *values) {
      std::vector<std::string> notes;
      absl::StatusOr<Tokens> t = Tokenize(v, like, notes);
      if (!t.ok()) return t.status();
      if (HasVar(*t) && !strings) {
        return absl::InvalidArgumentError(Cat("a variable in a ", op,
                                              " value cannot be converted (FleetPDP allows "
                                              "variables in String operators only)"));
      }
      for (std::string& n : notes) issues.Note(pointer, std::move(n));
      if (like) {
        std::optional<std::string> g = RenderGlob(*t);
        if (!g) {
          return absl::InvalidArgumentError(
              "a literal \"*\" or \"?\" (${*}, ${?}) in a StringLike value cannot be written in "
              "a FleetPDP glob");
        }
        v = *g;
      } else {
        v = RenderLiteral(*t);
      }
    }
  } else {
    return absl::InvalidArgumentError(
        Cat("operator ", Quote(aws_op), " has no FleetPDP equivalent"));
  }
  if (if_exists && !deny) {
    issues.Warn(pointer, Cat(aws_op, " holds in AWS when ", key,
                             " is missing; in FleetPDP a missing attribute allows nothing: "
                             "narrower for requests without it"));
  }
  // The engine's own check of operator, key and every value.
  engine::Condition c;
  c.quantifier = quantifier.empty()             ? engine::Quantifier::kSingle
                 : quantifier == "ForAnyValue:" ? engine::Quantifier::kForAnyValue
                                                : engine::Quantifier::kForAllValues;
  c.op = fleet_op.substr(quantifier.size());
  c.key = mapped->path;
  c.values = *values;
  if (absl::StatusOr<engine::CompiledCondition> compiled = engine::CompileCondition(c);
      !compiled.ok()) {
    return absl::InvalidArgumentError(Cat("FleetPDP refuses it: ", compiled.status().message()));
  }
  auto& paths = out[fleet_op];
  if (paths.count(mapped->path)) {
    return absl::InvalidArgumentError(
        Cat("another key of this operator also became ", mapped->path,
            ", and FleetPDP takes one condition per attribute and operator"));
  }
  paths[mapped->path] = *values;
  return absl::OkStatus();
}

struct OutStatement {
  std::string id;
  std::string description;
  bool deny = false;
  std::vector<std::string> actions;
  std::vector<std::string> resources;
  ConditionMap conditions;
};

std::optional<std::vector<std::pair<std::string, std::string>>> StringOrList(const Json& v,
                                                                             const std::string& p) {
  std::vector<std::pair<std::string, std::string>> out;  // (value, pointer)
  if (v.is_string()) {
    out.emplace_back(v.get<std::string>(), p);
    return out;
  }
  if (!v.is_array() || v.empty()) return std::nullopt;
  for (size_t i = 0; i < v.size(); ++i) {
    if (!v[i].is_string()) return std::nullopt;
    out.emplace_back(v[i].get<std::string>(), Cat(p, "/", i));
  }
  return out;
}

class Converter {
 public:
  explicit Converter(AwsIotImportResult& result) : result_(result), issues_(result.issues) {}

  void Statement(const Json& st, const std::string& ptr, const std::string& fallback_id);
  std::vector<OutStatement>& out() { return out_; }

 private:
  std::string UniqueId(const std::string& base) {
    std::string id = base;
    for (int i = 2; ids_.count(id); ++i) id = Cat(base, "-", i);
    ids_.insert(id);
    return id;
  }

  AwsIotImportResult& result_;
  Issues issues_;
  std::vector<OutStatement> out_;
  std::set<std::string> ids_;
};

void Converter::Statement(const Json& st, const std::string& ptr, const std::string& fallback_id) {
  ++result_.statements_in;
  auto skip = [&](const std::string& message) {
    issues_.Error(ptr, Cat(message, "; statement not converted"));
    ++result_.statements_skipped;
  };
  if (!st.is_object()) return skip("a statement must be a JSON object");
  for (const auto& [key, v] : st.items()) {
    if (key == "NotAction" || key == "NotResource") {
      return skip(Cat(key,
                      " is not supported (FleetPDP statements list what they cover; "
                      "rewrite it as Action/Resource, or as an allow plus a deny)"));
    }
    if (key == "Principal" || key == "NotPrincipal") {
      return skip(Cat(key,
                      " does not belong in an AWS IoT policy (it is attached to "
                      "certificates and things); FleetPDP selects principals with "
                      "--principals-group or --principals-any"));
    }
    if (key != "Sid" && key != "Effect" && key != "Action" && key != "Resource" &&
        key != "Condition") {
      return skip(
          Cat("unknown key ", Quote(key), " (expected Sid, Effect, Action, Resource, Condition)"));
    }
  }
  if (!st.contains("Effect") || !st["Effect"].is_string() ||
      (st["Effect"] != "Allow" && st["Effect"] != "Deny")) {
    return skip(R"(Effect must be "Allow" or "Deny")");
  }
  const bool deny = st["Effect"] == "Deny";
  if (!st.contains("Action")) return skip("missing Action");
  if (!st.contains("Resource")) return skip("missing Resource");
  auto actions = StringOrList(st["Action"], ptr + "/Action");
  if (!actions) return skip("Action must be a string or a non-empty list of strings");
  auto resources = StringOrList(st["Resource"], ptr + "/Resource");
  if (!resources) return skip("Resource must be a string or a non-empty list of strings");

  bool allow_broken = false;  // an allow with a part that is not converted is skipped whole
  auto error = [&](const std::string& p, std::string m) {
    if (deny) {
      m += "; the rest of this deny is kept (dropping it would allow more)";
    } else {
      allow_broken = true;
    }
    issues_.Error(p, std::move(m));
  };

  // Actions, by the kind of resource AWS checks them against.
  std::map<Kind, std::vector<std::string>> by_kind;
  for (const auto& [action, p] : *actions) {
    const bool is_glob = action.find_first_of("*?") != std::string::npos;
    std::vector<std::string_view> matched;
    for (const MqttAction& a : kMqttActions) {
      if (ActionGlobMatch(action, a.aws)) {
        auto& list = by_kind[a.kind];
        if (std::find(list.begin(), list.end(), a.fleet) == list.end()) {
          list.push_back(std::string(a.fleet));
        }
        matched.push_back(a.aws);
      }
    }
    if (is_glob) {
      if (!matched.empty()) {
        issues_.Note(p, Cat(Quote(action), " became the FleetPDP actions for ", Join(matched, ", "),
                            "; the AWS actions it also matches that are not MQTT "
                            "(Device Shadow, jobs, retained-message APIs) have no "
                            "FleetPDP counterpart"));
      } else {
        issues_.Add(deny ? ImportSeverity::kNote : ImportSeverity::kWarning, p,
                    Cat(Quote(action),
                        " matches no MQTT action; FleetPDP decides none "
                        "of the actions it matches: dropped"));
      }
    } else if (matched.empty()) {
      const bool iot = Lower(action).starts_with("iot:");
      issues_.Add(deny ? ImportSeverity::kNote : ImportSeverity::kWarning, p,
                  Cat(Quote(action),
                      iot ? " is not an MQTT action (Device Shadow, jobs and other AWS IoT APIs "
                            "have no FleetPDP counterpart; shadows over MQTT use "
                            "$aws/things/…/shadow/… topics, which convert)"
                          : " is not an AWS IoT MQTT action",
                      deny ? ": dropped (no FleetPDP request carries it)"
                           : ": dropped, so this permission is not granted"));
    }
  }

  // Resources.
  struct Res {
    Arn arn;
    std::string text;
    std::string pointer;
  };
  std::vector<Res> parsed;
  for (const auto& [text, p] : *resources) {
    absl::StatusOr<Arn> arn = ParseArn(text);
    if (!arn.ok()) {
      error(p, std::string(arn.status().message()));
      continue;
    }
    parsed.push_back({*arn, text, p});
    if (!arn->all && arn->type != "client" && arn->type != "topic" && arn->type != "topicfilter") {
      issues_.Add(by_kind.empty() ? ImportSeverity::kNote : ImportSeverity::kWarning, p,
                  Cat(arn->type, "/ resources are not checked for any MQTT action (", Quote(text),
                      "): dropped"));
      continue;
    }
    if (!arn->all) {
      bool used = false;
      for (const auto& [kind, list] : by_kind) used |= ArnType(kind) == arn->type;
      if (!used && !by_kind.empty()) {
        issues_.Warn(p, Cat(Quote(text),
                            " applies to none of this statement's MQTT "
                            "actions (AWS checks iot:Connect against "
                            "client/, iot:Publish, iot:Receive and "
                            "iot:RetainPublish against topic/, iot:Subscribe "
                            "against topicfilter/): dropped"));
      }
    }
  }

  // Conditions.
  ConditionMap conditions;
  if (st.contains("Condition")) {
    const Json& cond = st["Condition"];
    const std::string cptr = ptr + "/Condition";
    if (!cond.is_object()) {
      if (deny) {
        issues_.Warn(cptr, "Condition must be an object: dropped, so the deny applies without it");
      } else {
        error(cptr, "Condition must be an object");
      }
    } else {
      for (const auto& [op, entries] : cond.items()) {
        const std::string optr = cptr + "/" + EscapePointer(op);
        if (!entries.is_object()) {
          if (deny) {
            issues_.Warn(optr,
                         "an operator needs an object of keys to values: dropped, so the "
                         "deny applies without it");
          } else {
            error(optr, "an operator needs an object of keys to values");
          }
          continue;
        }
        for (const auto& [key, value] : entries.items()) {
          const std::string kptr = optr + "/" + EscapePointer(key);
          absl::Status s = ConvertConditionEntry(op, key, value, deny, kptr, issues_, conditions);
          if (s.ok()) continue;
          if (deny) {
            issues_.Warn(kptr, Cat("condition not converted: ", s.message(),
                                   "; dropped, so the deny applies more often (narrower)"));
          } else {
            error(kptr, Cat("condition not converted: ", s.message()));
          }
        }
      }
    }
  }
  if (allow_broken) {
    issues_.Error(ptr, "allow statement not converted (see the errors above)");
    ++result_.statements_skipped;
    return;
  }

  // One FleetPDP statement per kind of action; kinds with the same resources share one.
  struct Group {
    std::vector<Kind> kinds;
    std::vector<std::string> actions;
    std::vector<std::string> patterns;
    std::vector<std::string> globs;
    bool need_glob = false;
  };
  std::vector<Group> groups;
  for (Kind kind : kKinds) {
    auto it = by_kind.find(kind);
    if (it == by_kind.end()) continue;
    Group g;
    g.kinds = {kind};
    g.actions = it->second;
    for (const Res& r : parsed) {
      if (!r.arn.all && r.arn.type != ArnType(kind)) continue;
      ResourceContext ctx{issues_, r.pointer, deny};
      Translated t;
      Outcome o = TranslateResource(kind, r.arn.all ? "*" : r.arn.name, r.text, ctx, t);
      if (o == Outcome::kError) {
        if (deny) {
          issues_.Error(r.pointer, "the rest of this deny is kept (dropping it would allow more)");
        } else {
          issues_.Error(ptr, "allow statement not converted (see the errors above)");
          ++result_.statements_skipped;
          return;
        }
      }
      if (o != Outcome::kOk) continue;
      for (std::string& p : t.patterns) {
        if (std::find(g.patterns.begin(), g.patterns.end(), p) == g.patterns.end()) {
          g.patterns.push_back(std::move(p));
        }
      }
      if (std::find(g.globs.begin(), g.globs.end(), t.glob) == g.globs.end()) {
        g.globs.push_back(t.glob);
      }
      g.need_glob |= t.need_glob;
    }
    if (g.patterns.empty()) {
      issues_.Warn(ptr,
                   Cat("no resource of this statement applies to ", Join(g.actions, ", "),
                       " (it needs ", ArnType(kind), "/ ARNs or \"*\"): nothing converted for it"));
      continue;
    }
    bool merged = false;
    for (Group& other : groups) {
      if (other.patterns == g.patterns && other.need_glob == g.need_glob &&
          (!g.need_glob || other.globs == g.globs)) {
        other.kinds.push_back(kind);
        for (std::string& a : g.actions) other.actions.push_back(std::move(a));
        merged = true;
        break;
      }
    }
    if (!merged) groups.push_back(std::move(g));
  }
  if (groups.empty()) {
    ++result_.statements_skipped;
    return;
  }
  std::string base = fallback_id;
  if (st.contains("Sid") && st["Sid"].is_string() && !st["Sid"].get<std::string>().empty()) {
    base = SanitizeId(st["Sid"].get<std::string>());
  }
  for (Group& g : groups) {
    OutStatement o;
    o.id = UniqueId(groups.size() == 1 ? base : Cat(base, "-", KindSuffix(g.kinds[0])));
    o.description = Cat("imported from ", ReadablePointer(ptr));
    o.deny = deny;
    o.actions = g.actions;
    if (o.actions.size() == std::size(kMqttActions)) o.actions = {"mqtt:*"};
    o.resources = g.patterns;
    o.conditions = conditions;
    if (g.need_glob) {
      std::vector<std::string>& like = o.conditions["StringLike"]["resource"];
      like = g.globs;
    }
    out_.push_back(std::move(o));
    ++result_.statements_out;
  }
}

std::string EmitYaml(const std::vector<OutStatement>& statements, std::string_view source,
                     const AwsIotImportOptions& options) {
  YAML::Emitter e;
  e << YAML::BeginMap;
  e << YAML::Key << "apiVersion" << YAML::Value << "fleetpdp/v1";
  e << YAML::Key << "kind" << YAML::Value << "Policy";
  e << YAML::Key << "metadata" << YAML::Value << YAML::BeginMap;
  e << YAML::Key << "name" << YAML::Value << options.policy_name;
  e << YAML::Key << "description" << YAML::Value
    << Cat("Imported from the AWS IoT Core policy ", source, " by fleetpdp import aws-iot");
  e << YAML::Key << "labels" << YAML::Value << YAML::Flow << YAML::BeginMap << YAML::Key
    << "imported-from" << YAML::Value << "aws-iot" << YAML::EndMap;
  e << YAML::EndMap;
  e << YAML::Key << "spec" << YAML::Value << YAML::BeginMap;
  e << YAML::Key << "principals" << YAML::Value;
  if (options.principals_any) {
    e << YAML::DoubleQuoted << "*";
  } else {
    e << YAML::Flow << YAML::BeginMap << YAML::Key << "groups" << YAML::Value << YAML::Flow
      << YAML::BeginSeq
      << (options.principals_group.empty() ? options.policy_name : options.principals_group)
      << YAML::EndSeq << YAML::EndMap;
  }
  e << YAML::Key << "statements" << YAML::Value << YAML::BeginSeq;
  for (const OutStatement& s : statements) {
    e << YAML::BeginMap;
    e << YAML::Key << "id" << YAML::Value << s.id;
    e << YAML::Key << "description" << YAML::Value << s.description;
    e << YAML::Key << "effect" << YAML::Value << (s.deny ? "deny" : "allow");
    e << YAML::Key << "actions" << YAML::Value << YAML::Flow << YAML::BeginSeq;
    for (const std::string& a : s.actions) e << YAML::DoubleQuoted << a;
    e << YAML::EndSeq;
    e << YAML::Key << "resources" << YAML::Value << YAML::Flow << YAML::BeginSeq;
    for (const std::string& r : s.resources) e << YAML::DoubleQuoted << r;
    e << YAML::EndSeq;
    if (!s.conditions.empty()) {
      e << YAML::Key << "conditions" << YAML::Value << YAML::BeginMap;
      for (const auto& [op, paths] : s.conditions) {
        e << YAML::Key << op << YAML::Value << YAML::BeginMap;
        for (const auto& [path, values] : paths) {
          e << YAML::Key << path << YAML::Value << YAML::Flow << YAML::BeginSeq;
          for (const std::string& v : values) e << YAML::DoubleQuoted << v;
          e << YAML::EndSeq;
        }
        e << YAML::EndMap;
      }
      e << YAML::EndMap;
    }
    e << YAML::EndMap;
  }
  e << YAML::EndSeq << YAML::EndMap << YAML::EndMap;
  return std::string(e.c_str()) + "\n";
}

void LineColumn(std::string_view text, size_t byte, int& line, int& column) {
  line = 1;
  column = 1;
  for (size_t i = 0; i < byte && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
}

}  // namespace

std::string_view SeverityName(ImportSeverity severity) {
  switch (severity) {
    case ImportSeverity::kNote:
      return "note";
    case ImportSeverity::kWarning:
      return "warning";
    case ImportSeverity::kError:
      return "error";
  }
  return "";
}

std::string ReadablePointer(std::string_view pointer) {
  if (pointer.empty()) return "(document)";
  std::string out;
  for (std::string_view part : Split(pointer.substr(1), '/')) {
    std::string token;
    for (size_t i = 0; i < part.size(); ++i) {
      if (part[i] == '~' && i + 1 < part.size() && (part[i + 1] == '0' || part[i + 1] == '1')) {
        token += part[i + 1] == '0' ? '~' : '/';
        ++i;
      } else {
        token += part[i];
      }
    }
    if (!token.empty() && std::all_of(token.begin(), token.end(), absl::ascii_isdigit)) {
      out += Cat("[", token, "]");
    } else if (out.empty()) {
      out = token;
    } else if (std::all_of(token.begin(), token.end(),
                           [](char c) { return absl::ascii_isalnum(c); })) {
      out += Cat(".", token);
    } else {
      out += Cat("[", Quote(token), "]");
    }
  }
  return out;
}

std::string FormatImportIssue(std::string_view file, const ImportIssue& issue) {
  if (issue.line > 0) {
    return Cat(file, ":", issue.line, ":", issue.column, ": ", SeverityName(issue.severity), ": ",
               issue.message);
  }
  return Cat(file, ": ", ReadablePointer(issue.pointer), ": ", SeverityName(issue.severity), ": ",
             issue.message);
}

bool AwsIotImportResult::HasErrors() const {
  return std::any_of(issues.begin(), issues.end(),
                     [](const ImportIssue& i) { return i.severity == ImportSeverity::kError; });
}

bool AwsIotImportResult::HasWarnings() const {
  return std::any_of(issues.begin(), issues.end(),
                     [](const ImportIssue& i) { return i.severity == ImportSeverity::kWarning; });
}

AwsIotImportResult ConvertAwsIotPolicy(std::string_view json_text, std::string_view source,
                                       const AwsIotImportOptions& options) {
  AwsIotImportResult result;
  Json doc;
  try {
    doc = Json::parse(json_text.begin(), json_text.end());
  } catch (const Json::parse_error& e) {
    ImportIssue issue{ImportSeverity::kError, "", 0, 0, ""};
    // e.byte is 1-based: the position of the character that broke the parse.
    LineColumn(json_text, e.byte > 0 ? e.byte - 1 : 0, issue.line, issue.column);
    std::string what = e.what();
    // "[json.exception.parse_error.101] parse error at line 1, column 2: syntax error while
    // parsing object key - …": keep the part after the position.
    if (size_t colon = what.find(": "); colon != std::string::npos) what = what.substr(colon + 2);
    issue.message = Cat("invalid JSON: ", what);
    result.issues.push_back(std::move(issue));
    return result;
  }
  Issues issues(result.issues);
  if (!doc.is_object()) {
    issues.Error("", "an AWS IoT policy document must be a JSON object with Version and Statement");
    return result;
  }
  for (const auto& [key, v] : doc.items()) {
    if (key != "Version" && key != "Statement" && key != "Id") {
      issues.Error("/" + EscapePointer(key),
                   Cat("unknown key ", Quote(key), " (expected Version, Statement, Id)"));
      return result;
    }
  }
  if (!doc.contains("Version")) {
    issues.Note("", "no Version: read as \"2012-10-17\"");
  } else if (doc["Version"] != "2012-10-17") {
    issues.Error("/Version", Cat("unsupported Version ", doc["Version"].dump(),
                                 " (only \"2012-10-17\" is converted: in \"2008-10-17\" ${…} is "
                                 "plain text, not a policy variable)"));
    return result;
  }
  if (!doc.contains("Statement")) {
    issues.Error("", "missing Statement");
    return result;
  }
  Converter converter(result);
  const Json& st = doc["Statement"];
  if (st.is_object()) {
    converter.Statement(st, "/Statement", "statement-0");
  } else if (st.is_array() && !st.empty()) {
    for (size_t i = 0; i < st.size(); ++i) {
      converter.Statement(st[i], Cat("/Statement/", i), Cat("statement-", i));
    }
  } else {
    issues.Error("/Statement", "Statement must be an object or a non-empty list of objects");
    return result;
  }
  if (converter.out().empty()) {
    issues.Error("", "no statement could be converted: no FleetPDP policy written");
    return result;
  }
  if (options.principals_any) {
    issues.Warn("",
                "principals: \"*\" (--principals-any): the policy applies to every principal, "
                "not only to the certificates and things the AWS policy was attached to");
  } else if (options.principals_group.empty()) {
    issues.Note("", Cat("principals: group ", Quote(options.policy_name),
                        ": the policy applies to no one until the things it was "
                        "attached to in AWS are members of that group (entities), or "
                        "choose with --principals-group/--principals-any"));
  }
  result.yaml = EmitYaml(converter.out(), source, options);
  return result;
}

absl::Status CheckImportedPolicy(std::string_view yaml, std::string_view path) {
  std::vector<engine::SourceFile> files = {{std::string(path), std::string(yaml)}};
  engine::ParsedSources parsed;
  engine::ValidationReport report = engine::ParseSources(files, parsed);
  if (!report.ok()) return report.ToStatus();
  if (parsed.set.policies.size() != 1) {
    return absl::InternalError(
        Cat(path, ": expected one policy, parsed ", parsed.set.policies.size()));
  }
  absl::StatusOr<std::shared_ptr<const engine::RuleIndex>> index =
      engine::Compile(std::move(parsed.set));
  return index.status();
}

std::string PolicyNameFromFile(std::string_view file_name) {
  std::string_view base = file_name;
  if (size_t slash = base.find_last_of('/'); slash != std::string_view::npos) {
    base.remove_prefix(slash + 1);
  }
  if (size_t dot = base.find_last_of('.'); dot != std::string_view::npos && dot > 0) {
    base = base.substr(0, dot);
  }
  std::string name = SanitizeId(base);
  return name.empty() ? "aws-iot-policy" : name;
}

}  // namespace fleetpdp::cli
