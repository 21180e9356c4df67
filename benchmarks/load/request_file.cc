#include "benchmarks/load/request_file.h"

#include <algorithm>
#include <fstream>
#include <numeric>
#include <random>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "yaml-cpp/yaml.h"

namespace fleetpdp::load {
namespace {

namespace v1 = ::fleetpdp::v1;

// The element's text for messages: "file:line".
std::string Where(const std::string& path, int line) { return absl::StrCat(path, ":", line); }

absl::Status Bad(const std::string& where, const std::string& message) {
  return absl::InvalidArgumentError(absl::StrCat(where, ": ", message));
}

absl::Status AddValues(const YAML::Node& values, const std::string& where, const std::string& key,
                       v1::AttributeValue& out) {
  if (values.IsScalar()) {
    out.add_values(values.Scalar());
  } else if (values.IsSequence() && values.size() > 0) {
    for (const YAML::Node& v : values) {
      if (!v.IsScalar()) return Bad(where, absl::StrCat("\"", key, "\": values must be strings"));
      out.add_values(v.Scalar());
    }
  } else {
    return Bad(where, absl::StrCat("\"", key, "\": needs a string or a non-empty list"));
  }
  return absl::OkStatus();
}

absl::Status AddAttributes(const YAML::Node& map, const std::string& where, const char* field,
                           google::protobuf::Map<std::string, v1::AttributeValue>& out) {
  if (!map.IsMap()) return Bad(where, absl::StrCat(field, ": must be a mapping"));
  for (auto it = map.begin(); it != map.end(); ++it) {
    const std::string key = it->first.Scalar();
    if (absl::Status s = AddValues(it->second, where, absl::StrCat(field, ".", key), out[key]);
        !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<WeightedRequest> FromNode(const YAML::Node& node, const std::string& where) {
  if (!node.IsMap()) return Bad(where, "a request must be a mapping");
  WeightedRequest out;
  bool has_action = false, has_resource = false, has_principal = false;
  for (auto it = node.begin(); it != node.end(); ++it) {
    const std::string key = it->first.Scalar();
    const YAML::Node value = it->second;
    auto scalar = [&]() -> absl::StatusOr<std::string> {
      if (!value.IsScalar()) return Bad(where, absl::StrCat("\"", key, "\": must be a string"));
      return value.Scalar();
    };
    if (key == "principal") {
      has_principal = true;
      v1::Principal& p = *out.request.mutable_principal();
      if (value.IsScalar()) {
        p.set_id(value.Scalar());
        continue;
      }
      if (!value.IsMap()) return Bad(where, "\"principal\": must be an id or a mapping");
      for (auto pit = value.begin(); pit != value.end(); ++pit) {
        const std::string pkey = pit->first.Scalar();
        const YAML::Node pv = pit->second;
        if (pkey == "id" && pv.IsScalar()) {
          p.set_id(pv.Scalar());
        } else if (pkey == "type" && pv.IsScalar()) {
          p.set_type(pv.Scalar());
        } else if (pkey == "groups" && (pv.IsSequence() || pv.IsScalar())) {
          if (pv.IsScalar()) {
            p.add_groups(pv.Scalar());
          } else {
            for (const YAML::Node& g : pv) p.add_groups(g.Scalar());
          }
        } else if (pkey == "attributes") {
          if (absl::Status s =
                  AddAttributes(pv, where, "principal.attributes", *p.mutable_attributes());
              !s.ok()) {
            return s;
          }
        } else {
          return Bad(where, absl::StrCat("\"principal.", pkey, "\": unknown key or wrong type"));
        }
      }
    } else if (key == "action") {
      absl::StatusOr<std::string> s = scalar();
      if (!s.ok()) return s.status();
      out.request.set_action(*s);
      has_action = true;
    } else if (key == "resource") {
      absl::StatusOr<std::string> s = scalar();
      if (!s.ok()) return s.status();
      out.request.set_resource(*s);
      has_resource = true;
    } else if (key == "context") {
      if (absl::Status s = AddAttributes(value, where, "context", *out.request.mutable_context());
          !s.ok()) {
        return s;
      }
    } else if (key == "weight") {
      absl::StatusOr<std::string> s = scalar();
      if (!s.ok()) return s.status();
      uint32_t w = 0;
      if (!absl::SimpleAtoi(*s, &w) || w == 0) {
        return Bad(where, absl::StrCat("\"weight\": \"", *s, "\" is not a positive integer"));
      }
      out.weight = w;
    } else if (key == "expect") {
      absl::StatusOr<std::string> s = scalar();
      if (!s.ok()) return s.status();
      if (*s == "allow") {
        out.expect = v1::DECISION_ALLOW;
      } else if (*s == "deny") {
        out.expect = v1::DECISION_DENY;
      } else {
        return Bad(where, absl::StrCat("\"expect\": \"", *s, "\" is not allow or deny"));
      }
    } else if (key == "name") {
      absl::StatusOr<std::string> s = scalar();
      if (!s.ok()) return s.status();
      out.name = *s;
    } else {
      return Bad(where, absl::StrCat("unknown key \"", key, "\""));
    }
  }
  if (!has_principal) return Bad(where, "\"principal\" is required");
  if (!has_action) return Bad(where, "\"action\" is required");
  if (!has_resource) return Bad(where, "\"resource\" is required");
  return out;
}

bool IsJsonLines(const std::string& path) {
  return absl::EndsWith(path, ".jsonl") || absl::EndsWith(path, ".ndjson") ||
         absl::EndsWith(path, ".json");
}

}  // namespace

absl::StatusOr<std::vector<WeightedRequest>> ParseRequests(const std::string& path,
                                                           const std::string& text) {
  std::vector<WeightedRequest> out;
  try {
    if (IsJsonLines(path)) {
      int line_number = 0;
      for (absl::string_view line : absl::StrSplit(text, '\n')) {
        ++line_number;
        absl::string_view stripped = absl::StripAsciiWhitespace(line);
        if (stripped.empty() || absl::StartsWith(stripped, "#")) continue;
        const std::string where = Where(path, line_number);
        YAML::Node node;
        try {
          node = YAML::Load(std::string(stripped));
        } catch (const YAML::ParserException& e) {
          return Bad(where, e.msg);
        }
        absl::StatusOr<WeightedRequest> r = FromNode(node, where);
        if (!r.ok()) return r.status();
        out.push_back(*std::move(r));
      }
    } else if (absl::EndsWith(path, ".yaml") || absl::EndsWith(path, ".yml")) {
      YAML::Node doc;
      try {
        doc = YAML::Load(text);
      } catch (const YAML::ParserException& e) {
        return Bad(Where(path, e.mark.line + 1), e.msg);
      }
      YAML::Node list = doc.IsMap() ? doc["requests"] : doc;
      if (!list || !list.IsSequence()) {
        return Bad(path, "must be a list of requests, or a mapping with a \"requests\" list");
      }
      for (const YAML::Node& node : list) {
        absl::StatusOr<WeightedRequest> r = FromNode(node, Where(path, node.Mark().line + 1));
        if (!r.ok()) return r.status();
        out.push_back(*std::move(r));
      }
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          path, ": unknown format (name it *.jsonl for JSON lines or *.yaml for YAML)"));
    }
  } catch (const YAML::Exception& e) {  // e.g. a type conversion deep inside yaml-cpp
    return Bad(path, e.what());
  }
  if (out.empty()) return Bad(path, "holds no requests");
  return out;
}

absl::StatusOr<std::vector<WeightedRequest>> ReadRequestFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read request file \"", path, "\""));
  std::ostringstream text;
  text << in.rdbuf();
  return ParseRequests(path, text.str());
}

std::vector<uint32_t> MixOrder(const std::vector<WeightedRequest>& requests, size_t length,
                               uint64_t seed) {
  uint64_t total = 0;
  for (const WeightedRequest& r : requests) total += r.weight;
  std::vector<uint32_t> order;
  order.reserve(length);
  // Whole rounds of the weights first, then a weighted remainder: exact proportions.
  std::vector<uint32_t> round;
  round.reserve(total);
  for (uint32_t i = 0; i < requests.size(); ++i) round.insert(round.end(), requests[i].weight, i);
  while (order.size() + round.size() <= length)
    order.insert(order.end(), round.begin(), round.end());
  std::mt19937_64 rng(seed);
  std::shuffle(round.begin(), round.end(), rng);
  for (size_t i = 0; order.size() < length; ++i) order.push_back(round[i]);
  std::shuffle(order.begin(), order.end(), rng);
  return order;
}

}  // namespace fleetpdp::load
