#include "integrations/mosquitto/authorizer.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "engine/rule_index.h"
#include "server/bundle_source.h"

namespace fleetpdp::mosquitto {
namespace {

engine::Attribute Single(std::string key, std::string value) {
  return engine::Attribute{.key = std::move(key), .values = {std::move(value)}, .is_list = false};
}

const char* ProtocolVersionName(int v) {
  switch (v) {
    case 3:
      return "3.1";
    case 4:
      return "3.1.1";
    case 5:
      return "5";
    default:
      return "unknown";
  }
}

const std::string& PrincipalId(const MqttClient& c, PrincipalSource source) {
  switch (source) {
    case PrincipalSource::kUsername:
      return c.username;
    case PrincipalSource::kCertificateCn:
      return c.cert_cn;
    case PrincipalSource::kClientId:
      break;
  }
  return c.client_id;
}

}  // namespace

std::vector<engine::Request> RequestsFor(const MqttEvent& event, const PluginOptions& options) {
  const std::string& id = PrincipalId(event.client, options.principal);
  if (id.empty()) return {};
  engine::Request r;
  r.principal.id = id;
  if (!event.client.address.empty()) r.context.push_back(Single("source_ip", event.client.address));
  r.context.push_back(Single("protocol", "mqtt"));
  r.context.push_back(
      Single("protocol_version", ProtocolVersionName(event.client.protocol_version)));
  r.context.push_back(Single("tls", event.client.tls ? "true" : "false"));
  switch (event.access) {
    case MqttAccess::kConnect:
      r.action = engine::kConnect;
      r.resource = event.client.client_id;
      break;
    case MqttAccess::kPublish:
      r.action = engine::kPublish;
      r.resource = event.topic;
      break;
    case MqttAccess::kSubscribe:
      r.action = engine::kSubscribe;
      r.resource = event.topic;
      break;
    case MqttAccess::kReceive:
      r.action = engine::kReceive;
      r.resource = event.topic;
      break;
  }
  std::vector<engine::Request> out;
  if (event.access == MqttAccess::kPublish && event.retain && options.check_retain) {
    engine::Request retain = r;
    retain.action = engine::kRetain;
    out.push_back(std::move(retain));
  }
  out.insert(out.begin(), std::move(r));
  return out;
}

absl::StatusOr<std::unique_ptr<LocalAuthorizer>> LocalAuthorizer::Start(
    const PluginOptions& options, LogFn log) {
  std::unique_ptr<LocalAuthorizer> a(new LocalAuthorizer());
  a->options_ = options;
  if (!options.keys.empty()) {
    absl::StatusOr<bundles::Keyring> keyring = bundles::Keyring::LoadDirectory(options.keys);
    if (!keyring.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("plugin_opt_keys: ", keyring.status().message()));
    }
    a->keyring_ = *std::move(keyring);
  }
  server::HttpSourceOptions http;
  http.ca_file = options.http_ca_file;
  absl::StatusOr<std::unique_ptr<server::BundleSource>> source =
      server::MakeBundleSource(options.bundle, {}, http);
  if (!source.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("plugin_opt_bundle: ", source.status().message()));
  }
  server::ReloaderOptions reload;
  reload.allow_unsigned = options.allow_unsigned;
  reload.persist_path = options.persist;
  server::BundleHolder* holder = &a->holder_;
  reload.on_attempt = [log, holder](const absl::Status& status, const bundles::BundleMetadata* m) {
    if (!log) return;
    if (!status.ok()) {
      log(true, absl::StrCat("fleetpdp: bundle: ", status.message(),
                             holder->Current() ? " (still enforcing the last good bundle)"
                                               : " (no bundle: every check is denied)"));
    } else if (m != nullptr) {
      log(false, absl::StrCat("fleetpdp: enforcing bundle \"", m->name, "\" rev ", m->revision,
                              " digest ", m->digest,
                              m->is_signed ? absl::StrCat(" signed by \"", m->key_id, "\"")
                                           : std::string(" UNSIGNED")));
    }
  };
  a->reloader_ = std::make_unique<server::Reloader>(
      *std::move(source), options.keys.empty() ? nullptr : &a->keyring_, std::move(reload),
      a->holder_, /*metrics=*/nullptr);
  if (!a->reloader_->ReloadNow().ok() && !options.persist.empty()) {
    if (log) log(false, absl::StrCat("fleetpdp: trying the persisted copy ", options.persist));
    (void)a->reloader_->LoadPersisted();
  }
  a->reloader_->Start(options.poll_interval);
  return a;
}

LocalAuthorizer::~LocalAuthorizer() {
  if (reloader_) reloader_->Stop();
}

std::optional<ServingBundle> LocalAuthorizer::Serving() const {
  std::shared_ptr<const bundles::LoadedBundle> bundle = holder_.Current();
  if (bundle == nullptr) return std::nullopt;
  const bundles::BundleMetadata& m = bundle->metadata;
  return ServingBundle{
      .name = m.name, .revision = m.revision, .digest = m.digest, .key_id = m.key_id};
}

bool LocalAuthorizer::Allowed(const MqttEvent& event) {
  std::shared_ptr<const bundles::LoadedBundle> bundle = holder_.Current();
  if (bundle == nullptr) return false;
  std::vector<engine::Request> requests = RequestsFor(event, options_);
  if (requests.empty()) return false;
  for (const engine::Request& r : requests) {
    if (!engine::Evaluate(*bundle->index, r).allowed) return false;
  }
  return true;
}

}  // namespace fleetpdp::mosquitto
