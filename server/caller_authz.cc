// Caller authorization: allow lists of certificate names, checked per call by an
// AuthMetadataProcessor that gRPC runs inline (IsBlocking false) before the call reaches a handler.
#include "server/caller_authz.h"

#include <grpc/grpc_security_constants.h>
#include <grpcpp/security/auth_context.h>
#include <grpcpp/security/auth_metadata_processor.h>

#include <array>
#include <cstddef>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "engine/absl_compat.h"
#include "server/metrics.h"
#include "server/rate_limited_log.h"

namespace fleetpdp::server {
namespace {

constexpr std::string_view kDecisionService = "/fleetpdp.v1.DecisionService/";
constexpr std::string_view kHealthService = "/grpc.health.v1.Health/";
constexpr std::string_view kSyntax = "expected CN=PATTERN or SAN:dns|uri|email|ip:PATTERN";

bool EqualChar(char a, char b, bool fold_case) {
  return fold_case ? absl::ascii_tolower(static_cast<unsigned char>(a)) ==
                         absl::ascii_tolower(static_cast<unsigned char>(b))
                   : a == b;
}

// Whole-string glob match where '*' matches any run of characters. Linear in practice: on a
// mismatch only the most recent '*' is retried (the classic two-pointer algorithm).
bool Glob(std::string_view pattern, std::string_view value, bool fold_case) {
  size_t p = 0;
  size_t v = 0;
  size_t star = std::string_view::npos;  // position of the last '*' seen in pattern
  size_t resume = 0;                     // where in value that '*' currently stops
  while (v < value.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = v;
    } else if (p < pattern.size() && EqualChar(pattern[p], value[v], fold_case)) {
      ++p;
      ++v;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      v = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

// The matcher kind a gRPC auth property carries, if any.
bool KindOfProperty(std::string_view name, CallerMatcher::Kind& kind) {
  if (name == GRPC_X509_CN_PROPERTY_NAME) {
    kind = CallerMatcher::Kind::kCommonName;
  } else if (name == GRPC_PEER_DNS_PROPERTY_NAME) {
    kind = CallerMatcher::Kind::kDns;
  } else if (name == GRPC_PEER_URI_PROPERTY_NAME) {
    kind = CallerMatcher::Kind::kUri;
  } else if (name == GRPC_PEER_EMAIL_PROPERTY_NAME) {
    kind = CallerMatcher::Kind::kEmail;
  } else if (name == GRPC_PEER_IP_PROPERTY_NAME) {
    kind = CallerMatcher::Kind::kIp;
  } else {
    return false;
  }
  return true;
}

std::string_view View(const grpc::string_ref& s) { return {s.data(), s.size()}; }

// The label of fleetpdp_unauthorized_calls_total for a :path: a method of ours, reflection, or
// "other" (bounded cardinality whatever path a caller sends).
std::string_view MethodLabel(std::string_view path) {
  static constexpr std::array<std::string_view, 4> kOurs = {"Check", "BatchCheck", "CheckStream",
                                                            "GetBundleInfo"};
  if (path.starts_with(kDecisionService)) {
    const std::string_view method = path.substr(kDecisionService.size());
    for (std::string_view m : kOurs) {
      if (method == m) return m;
    }
    return "other";
  }
  if (path.starts_with("/grpc.reflection.") && path.ends_with("/ServerReflectionInfo")) {
    return "ServerReflectionInfo";
  }
  return "other";
}

class CallerAuthzProcessor final : public grpc::AuthMetadataProcessor {
 public:
  CallerAuthzProcessor(std::vector<CallerMatcher> decision, std::vector<CallerMatcher> admin,
                       std::function<void(std::string_view)> log, Metrics* metrics)
      : decision_(std::move(decision)),
        admin_(std::move(admin)),
        log_(std::move(log)),
        metrics_(metrics) {}

  // Runs on gRPC's thread, before the handler: nothing here blocks.
  bool IsBlocking() const override { return false; }

  grpc::Status Process(const InputMetadata& auth_metadata, grpc::AuthContext* context,
                       OutputMetadata* /*consumed_auth_metadata*/,
                       OutputMetadata* /*response_metadata*/) override {
    std::string_view path;
    if (auto it = auth_metadata.find(":path"); it != auth_metadata.end()) path = View(it->second);
    const Surface surface = SurfaceOf(path);
    if (surface == Surface::kHealth) return grpc::Status::OK;
    const bool decision = surface == Surface::kDecision;
    const std::vector<CallerMatcher>& matchers = decision ? decision_ : admin_;
    if (matchers.empty()) return grpc::Status::OK;
    if (context != nullptr && AdmitsContext(matchers, *context)) return grpc::Status::OK;

    const std::string_view rule = decision ? "--allow-callers" : "--allow-admin-callers";
    if (metrics_ != nullptr) metrics_->CountUnauthorizedCall(MethodLabel(path));
    log_.Log([&] {
      const CallerIdentity identity = context != nullptr ? IdentityOf(*context) : CallerIdentity{};
      return absl::StrCat(
          "caller authorization: denied ", absl::CEscape(Absl(path)), " to ",
          identity.empty() ? "a caller without a client certificate" : identity.Describe(),
          ": no entry of ", Absl(rule), " matches");
    });
    std::string method(path.empty() ? std::string_view("this method") : path.substr(1));
    return {grpc::StatusCode::PERMISSION_DENIED,
            absl::StrCat("caller not authorized for ", method,
                         ": its client certificate matches no entry of ", Absl(rule))};
  }

 private:
  // Walks the connection's properties once, without copying them.
  static bool AdmitsContext(const std::vector<CallerMatcher>& matchers,
                            const grpc::AuthContext& context) {
    for (auto it = context.begin(); it != context.end(); ++it) {
      const grpc::AuthProperty property = *it;
      CallerMatcher::Kind kind;
      if (!KindOfProperty(View(property.first), kind)) continue;
      const std::string_view value = View(property.second);
      for (const CallerMatcher& m : matchers) {
        if (m.kind == kind && m.Matches(value)) return true;
      }
    }
    return false;
  }

  const std::vector<CallerMatcher> decision_;
  const std::vector<CallerMatcher> admin_;
  RateLimitedLog log_;
  Metrics* const metrics_;
};

}  // namespace

bool CallerMatcher::Matches(std::string_view value) const {
  return Glob(pattern, value, /*fold_case=*/kind == Kind::kDns);
}

std::string CallerMatcher::ToString() const {
  switch (kind) {
    case Kind::kCommonName:
      return absl::StrCat("CN=", pattern);
    case Kind::kDns:
      return absl::StrCat("SAN:dns:", pattern);
    case Kind::kUri:
      return absl::StrCat("SAN:uri:", pattern);
    case Kind::kEmail:
      return absl::StrCat("SAN:email:", pattern);
    case Kind::kIp:
      return absl::StrCat("SAN:ip:", pattern);
  }
  return pattern;
}

absl::StatusOr<std::vector<CallerMatcher>> ParseCallerMatchers(
    std::string_view flag, const std::vector<std::string>& entries) {
  std::vector<CallerMatcher> out;
  for (const std::string& entry : entries) {
    for (absl::string_view piece : absl::StrSplit(entry, ',')) {
      const std::string_view text = Std(absl::StripAsciiWhitespace(piece));
      auto bad = [&](std::string_view why) {
        return absl::InvalidArgumentError(
            absl::StrCat(Absl(flag), ": \"", absl::CEscape(piece), "\": ", Absl(why)));
      };
      if (text.empty()) return bad("empty entry (two commas, or a trailing comma?)");
      CallerMatcher m;
      std::string_view pattern;
      if (absl::StartsWithIgnoreCase(Absl(text), "CN=")) {
        m.kind = CallerMatcher::Kind::kCommonName;
        pattern = text.substr(3);
      } else if (absl::StartsWithIgnoreCase(Absl(text), "SAN:")) {
        const std::string_view rest = text.substr(4);
        const size_t colon = rest.find(':');
        const std::string type = absl::AsciiStrToLower(
            Absl(rest.substr(0, colon == std::string_view::npos ? 0 : colon)));
        if (type == "dns") {
          m.kind = CallerMatcher::Kind::kDns;
        } else if (type == "uri") {
          m.kind = CallerMatcher::Kind::kUri;
        } else if (type == "email") {
          m.kind = CallerMatcher::Kind::kEmail;
        } else if (type == "ip") {
          m.kind = CallerMatcher::Kind::kIp;
        } else {
          return bad(absl::StrCat("unknown SAN type (", Absl(kSyntax), ")"));
        }
        pattern = rest.substr(colon + 1);
      } else {
        return bad(absl::StrCat("unknown matcher (", Absl(kSyntax), ")"));
      }
      if (pattern.empty()) return bad("empty pattern");
      m.pattern = m.kind == CallerMatcher::Kind::kDns ? absl::AsciiStrToLower(Absl(pattern))
                                                      : std::string(pattern);
      out.push_back(std::move(m));
    }
  }
  return out;
}

std::string CallerIdentity::Describe() const {
  std::vector<std::string> sans;
  for (const std::string& v : dns) sans.push_back(absl::StrCat("dns:", absl::CEscape(v)));
  for (const std::string& v : uris) sans.push_back(absl::StrCat("uri:", absl::CEscape(v)));
  for (const std::string& v : emails) sans.push_back(absl::StrCat("email:", absl::CEscape(v)));
  for (const std::string& v : ips) sans.push_back(absl::StrCat("ip:", absl::CEscape(v)));
  std::string out = absl::StrCat("subject \"", absl::CEscape(subject), "\"");
  if (subject.empty() && !common_names.empty()) {
    out = absl::StrCat("CN \"", absl::CEscape(common_names.front()), "\"");
  }
  if (!sans.empty()) absl::StrAppend(&out, " SAN [", absl::StrJoin(sans, ", "), "]");
  return out;
}

CallerIdentity IdentityOf(const grpc::AuthContext& context) {
  CallerIdentity id;
  for (auto it = context.begin(); it != context.end(); ++it) {
    const grpc::AuthProperty property = *it;
    std::string value(View(property.second));
    if (View(property.first) == GRPC_X509_SUBJECT_PROPERTY_NAME) {
      id.subject = std::move(value);
      continue;
    }
    CallerMatcher::Kind kind;
    if (!KindOfProperty(View(property.first), kind)) continue;
    switch (kind) {
      case CallerMatcher::Kind::kCommonName:
        id.common_names.push_back(std::move(value));
        break;
      case CallerMatcher::Kind::kDns:
        id.dns.push_back(std::move(value));
        break;
      case CallerMatcher::Kind::kUri:
        id.uris.push_back(std::move(value));
        break;
      case CallerMatcher::Kind::kEmail:
        id.emails.push_back(std::move(value));
        break;
      case CallerMatcher::Kind::kIp:
        id.ips.push_back(std::move(value));
        break;
    }
  }
  return id;
}

bool Admits(const std::vector<CallerMatcher>& matchers, const CallerIdentity& identity) {
  auto any = [&](CallerMatcher::Kind kind, const std::vector<std::string>& values) {
    for (const CallerMatcher& m : matchers) {
      if (m.kind != kind) continue;
      for (const std::string& v : values) {
        if (m.Matches(v)) return true;
      }
    }
    return false;
  };
  return any(CallerMatcher::Kind::kCommonName, identity.common_names) ||
         any(CallerMatcher::Kind::kDns, identity.dns) ||
         any(CallerMatcher::Kind::kUri, identity.uris) ||
         any(CallerMatcher::Kind::kEmail, identity.emails) ||
         any(CallerMatcher::Kind::kIp, identity.ips);
}

Surface SurfaceOf(std::string_view path) {
  if (path.starts_with(kHealthService)) return Surface::kHealth;
  if (path.starts_with(kDecisionService)) {
    const std::string_view method = path.substr(kDecisionService.size());
    if (method == "Check" || method == "BatchCheck" || method == "CheckStream") {
      return Surface::kDecision;
    }
  }
  // GetBundleInfo, reflection, and anything else: fail closed onto the stricter admin list.
  return Surface::kAdmin;
}

absl::StatusOr<std::shared_ptr<grpc::AuthMetadataProcessor>> MakeCallerAuthz(
    const CallerAuthzOptions& options, Metrics* metrics) {
  absl::StatusOr<std::vector<CallerMatcher>> decision =
      ParseCallerMatchers("--allow-callers", options.decision_callers);
  if (!decision.ok()) return decision.status();
  absl::StatusOr<std::vector<CallerMatcher>> admin =
      ParseCallerMatchers("--allow-admin-callers", options.admin_callers);
  if (!admin.ok()) return admin.status();
  return std::make_shared<CallerAuthzProcessor>(*std::move(decision), *std::move(admin),
                                                options.log, metrics);
}

std::string DescribeCallerAuthz(const CallerAuthzOptions& options) {
  auto count = [](std::string_view flag, const std::vector<std::string>& entries) -> std::string {
    absl::StatusOr<std::vector<CallerMatcher>> m = ParseCallerMatchers(flag, entries);
    if (!m.ok() || m->empty()) return "any mutual-TLS client";
    return absl::StrCat(m->size(), m->size() == 1 ? " entry" : " entries", " of ", Absl(flag));
  };
  return absl::StrCat("decisions (Check, BatchCheck, CheckStream): ",
                      count("--allow-callers", options.decision_callers),
                      "; admin (GetBundleInfo, reflection): ",
                      count("--allow-admin-callers", options.admin_callers), "; health: open");
}

}  // namespace fleetpdp::server
