#include "integrations/mosquitto/remote_authorizer.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace fleetpdp::mosquitto {
namespace {

// The whole request, unambiguously: fields are length-prefixed.
std::string CacheKey(const engine::Request& r) {
  std::string key;
  auto add = [&key](std::string_view s) {
    absl::StrAppend(&key, s.size(), ":");
    key.append(s.data(), s.size());
  };
  add(r.principal.id);
  add(r.action);
  add(r.resource);
  for (const engine::Attribute& a : r.context) {
    add(a.key);
    for (const std::string& v : a.values) add(v);
  }
  return key;
}

v1::CheckRequest ToProto(const engine::Request& r) {
  v1::CheckRequest out;
  out.mutable_principal()->set_id(r.principal.id);
  out.set_action(r.action);
  out.set_resource(r.resource);
  for (const engine::Attribute& a : r.context) {
    v1::AttributeValue& value = (*out.mutable_context())[a.key];
    for (const std::string& v : a.values) value.add_values(v);
  }
  return out;
}

}  // namespace

absl::StatusOr<std::unique_ptr<RemoteAuthorizer>> RemoteAuthorizer::Create(
    const PluginOptions& options, LogFn log, Clock clock) {
  client::ClientOptions c;
  c.target = options.server;
  c.deadline = options.deadline;
  c.max_attempts = 1;  // no retries on the broker's thread: the deadline is the budget
  c.max_reconnect_backoff = absl::Seconds(1);
  if (!options.tls_ca_file.empty() || !options.tls_cert_file.empty() ||
      !options.tls_key_file.empty() || !options.tls_server_name.empty()) {
    c.tls = client::TlsOptions{.ca_file = options.tls_ca_file,
                               .cert_file = options.tls_cert_file,
                               .key_file = options.tls_key_file,
                               .server_name = options.tls_server_name};
  }
  absl::StatusOr<std::unique_ptr<client::Client>> made = client::Client::Create(c);
  if (!made.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("plugin_opt_server: ", made.status().message()));
  }
  std::unique_ptr<RemoteAuthorizer> a(new RemoteAuthorizer());
  a->options_ = options;
  a->log_ = std::move(log);
  a->clock_ = std::move(clock);
  a->client_ = *std::move(made);
  return a;
}

bool RemoteAuthorizer::Allowed(const MqttEvent& event) {
  std::vector<engine::Request> requests = RequestsFor(event, options_);
  if (requests.empty()) return false;
  for (const engine::Request& r : requests) {
    if (!Decide(r)) return false;
  }
  return true;
}

bool RemoteAuthorizer::Decide(const engine::Request& request) {
  std::string key = CacheKey(request);
  absl::Time now = clock_();
  {
    absl::MutexLock lock(&mu_);
    if (auto it = index_.find(key); it != index_.end()) {
      if (it->second->expires > now) {
        lru_.splice(lru_.begin(), lru_, it->second);
        return it->second->allowed;
      }
      lru_.erase(it->second);
      index_.erase(it);
    }
  }
  // Ask without holding the lock: another thread may ask the same question meanwhile.
  absl::StatusOr<v1::CheckResponse> answer = client_->Check(ToProto(request));
  absl::MutexLock lock(&mu_);
  ++server_calls_;
  if (!answer.ok()) {
    if (!failing_ && log_) {
      log_(true, absl::StrCat("fleetpdp: ", answer.status().message(), " — failing ",
                              options_.fail_open ? "open (allowing)" : "closed (denying)",
                              " uncached checks until it answers"));
    }
    failing_ = true;
    return options_.fail_open;
  }
  if (failing_ && log_) log_(false, absl::StrCat("fleetpdp: ", options_.server, " answers again"));
  failing_ = false;
  if (!serving_ || serving_->digest != answer->bundle_digest()) {
    // A new bundle decides now: nothing cached under the old one is trusted any more.
    lru_.clear();
    index_.clear();
    serving_ = ServingBundle{.name = "",
                             .revision = answer->bundle_revision(),
                             .digest = answer->bundle_digest(),
                             .key_id = ""};
    if (log_) {
      log_(false, absl::StrCat("fleetpdp: ", options_.server, " decides with bundle rev ",
                               answer->bundle_revision(), " digest ", answer->bundle_digest()));
    }
  }
  bool allowed = answer->decision() == v1::DECISION_ALLOW;
  if (options_.cache_size > 0 && options_.cache_ttl > absl::ZeroDuration() &&
      !index_.contains(key)) {
    lru_.push_front(Entry{.key = key, .allowed = allowed, .expires = now + options_.cache_ttl});
    index_.emplace(std::move(key), lru_.begin());
    while (lru_.size() > options_.cache_size) {
      index_.erase(lru_.back().key);
      lru_.pop_back();
    }
  }
  return allowed;
}

std::optional<ServingBundle> RemoteAuthorizer::Serving() const {
  absl::MutexLock lock(&mu_);
  return serving_;
}

size_t RemoteAuthorizer::cached() const {
  absl::MutexLock lock(&mu_);
  return lru_.size();
}

uint64_t RemoteAuthorizer::server_calls() const {
  absl::MutexLock lock(&mu_);
  return server_calls_;
}

}  // namespace fleetpdp::mosquitto
