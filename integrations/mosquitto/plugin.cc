// The Mosquitto 2.0 plugin (v5 API): asks FleetPDP before every CONNECT, PUBLISH, SUBSCRIBE and
// delivery — in-process from a signed bundle (local mode, the default) or over gRPC behind a
// cache (remote mode; remote_authorizer.h). Load it with
//
//   plugin /usr/lib/fleetpdp/fleetpdp_mosquitto.so
//   plugin_opt_bundle /var/lib/fleetpdp/fleet.bundle.tar.gz
//   plugin_opt_keys /etc/fleetpdp/keys
//
// Mosquitto calls these hooks on its only event-loop thread, so nothing here blocks: decisions use
// the bundle snapshot in memory, bundle loads happen on the authorizer's own thread, and log lines
// and the bundle status message are handed to the main thread and written on the next tick.
#include <mosquitto.h>
#include <mosquitto_broker.h>
#include <mosquitto_plugin.h>
#include <openssl/x509.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "integrations/client/grpc_library.h"
#include "integrations/mosquitto/authorizer.h"
#include "integrations/mosquitto/remote_authorizer.h"

namespace fleetpdp::mosquitto {
namespace {

struct Plugin {
  // Remote mode: gRPC's library reference, declared first so that it is released last, after the
  // authorizer's channel: mosquitto_plugin_cleanup then ends gRPC (and joins its threads) before
  // the broker unloads the plugin or exits (integrations/client/grpc_library.h).
  std::optional<fleetpdp::client::GrpcLibraryScope> grpc;
  mosquitto_plugin_id_t* id = nullptr;
  PluginOptions options;
  std::unique_ptr<Authorizer> authorizer;
  std::string published_digest;  // main thread only
  // During init the broker's main thread is ours and log lines are written at once; afterwards
  // they are queued for the next tick (the reloader thread must not call into the broker).
  std::atomic<bool> starting{true};

  std::mutex mu;  // guards pending
  std::vector<std::pair<bool, std::string>> pending;

  void Log(bool error, std::string line) {
    if (starting.load()) {
      mosquitto_log_printf(error ? MOSQ_LOG_ERR : MOSQ_LOG_NOTICE, "%s", line.c_str());
      return;
    }
    std::lock_guard<std::mutex> lock(mu);
    pending.emplace_back(error, std::move(line));
  }
};

std::string CertificateCn(struct mosquitto* client) {
  auto* cert = static_cast<X509*>(mosquitto_client_certificate(client));
  if (cert == nullptr) return "";
  std::string cn;
  X509_NAME* subject = X509_get_subject_name(cert);
  int i = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (i >= 0) {
    ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, i));
    unsigned char* utf8 = nullptr;
    int n = ASN1_STRING_to_UTF8(&utf8, data);
    if (n > 0) cn.assign(reinterpret_cast<char*>(utf8), static_cast<size_t>(n));
    OPENSSL_free(utf8);
  }
  X509_free(cert);  // mosquitto_client_certificate returns a new reference
  return cn;
}

MqttClient ClientOf(struct mosquitto* client, const PluginOptions& options) {
  MqttClient c;
  if (const char* id = mosquitto_client_id(client)) c.client_id = id;
  if (const char* user = mosquitto_client_username(client)) c.username = user;
  if (const char* address = mosquitto_client_address(client)) c.address = address;
  c.protocol_version = mosquitto_client_protocol_version(client);
  void* cert = mosquitto_client_certificate(client);
  c.tls = cert != nullptr;
  if (cert != nullptr) X509_free(static_cast<X509*>(cert));
  if (options.principal == PrincipalSource::kCertificateCn) c.cert_cn = CertificateCn(client);
  return c;
}

int OnBasicAuth(int, void* event_data, void* userdata) {
  auto* plugin = static_cast<Plugin*>(userdata);
  auto* ev = static_cast<mosquitto_evt_basic_auth*>(event_data);
  MqttEvent event;
  event.access = MqttAccess::kConnect;
  event.client = ClientOf(ev->client, plugin->options);
  // The username in the event is the one being checked (the client's is set after success).
  if (ev->username != nullptr) event.client.username = ev->username;
  return plugin->authorizer->Allowed(event) ? MOSQ_ERR_SUCCESS : MOSQ_ERR_AUTH;
}

int OnAclCheck(int, void* event_data, void* userdata) {
  auto* plugin = static_cast<Plugin*>(userdata);
  auto* ev = static_cast<mosquitto_evt_acl_check*>(event_data);
  MqttEvent event;
  switch (ev->access) {
    case MOSQ_ACL_WRITE:
      event.access = MqttAccess::kPublish;
      break;
    case MOSQ_ACL_SUBSCRIBE:
      event.access = MqttAccess::kSubscribe;
      break;
    case MOSQ_ACL_READ:
      if (!plugin->options.check_receive) return MOSQ_ERR_SUCCESS;
      event.access = MqttAccess::kReceive;
      break;
    case MOSQ_ACL_UNSUBSCRIBE:
      return MOSQ_ERR_SUCCESS;  // leaving a subscription is always allowed
    default:
      return MOSQ_ERR_ACL_DENIED;
  }
  event.client = ClientOf(ev->client, plugin->options);
  event.topic = ev->topic != nullptr ? ev->topic : "";
  event.retain = ev->retain;
  return plugin->authorizer->Allowed(event) ? MOSQ_ERR_SUCCESS : MOSQ_ERR_ACL_DENIED;
}

// Main thread, a few times a second: write queued log lines and publish a new bundle's status.
int OnTick(int, void*, void* userdata) {
  auto* plugin = static_cast<Plugin*>(userdata);
  std::vector<std::pair<bool, std::string>> lines;
  {
    std::lock_guard<std::mutex> lock(plugin->mu);
    lines.swap(plugin->pending);
  }
  for (const auto& [error, line] : lines) {
    mosquitto_log_printf(error ? MOSQ_LOG_ERR : MOSQ_LOG_NOTICE, "%s", line.c_str());
  }
  std::optional<ServingBundle> serving = plugin->authorizer->Serving();
  if (serving && serving->digest != plugin->published_digest &&
      !plugin->options.status_topic.empty()) {
    const ServingBundle& m = *serving;
    std::string payload =
        absl::StrCat(R"({"name":")", m.name, R"(","revision":)", m.revision, R"(,"digest":")",
                     m.digest, R"(","key_id":")", m.key_id, R"("})");
    mosquitto_broker_publish_copy(nullptr, plugin->options.status_topic.c_str(),
                                  static_cast<int>(payload.size()), payload.data(), 1,
                                  /*retain=*/true, nullptr);
    plugin->published_digest = m.digest;
  }
  return MOSQ_ERR_SUCCESS;
}

}  // namespace
}  // namespace fleetpdp::mosquitto

using fleetpdp::mosquitto::Plugin;

extern "C" {

__attribute__((visibility("default"))) int mosquitto_plugin_version(int count,
                                                                    const int* versions) {
  for (int i = 0; i < count; ++i) {
    if (versions[i] == 5) return 5;
  }
  return -1;
}

__attribute__((visibility("default"))) int mosquitto_plugin_init(mosquitto_plugin_id_t* id,
                                                                 void** userdata,
                                                                 struct mosquitto_opt* opts,
                                                                 int count) {
  std::vector<std::pair<std::string, std::string>> pairs;
  for (int i = 0; i < count; ++i) {
    pairs.emplace_back(opts[i].key ? opts[i].key : "", opts[i].value ? opts[i].value : "");
  }
  absl::StatusOr<fleetpdp::mosquitto::PluginOptions> options =
      fleetpdp::mosquitto::ParsePluginOptions(pairs);
  if (!options.ok()) {
    mosquitto_log_printf(MOSQ_LOG_ERR, "fleetpdp: %s",
                         std::string(options.status().message()).c_str());
    return MOSQ_ERR_INVAL;
  }
  auto plugin = std::make_unique<Plugin>();
  plugin->id = id;
  plugin->options = *options;
  Plugin* raw = plugin.get();
  auto log = [raw](bool error, const std::string& line) { raw->Log(error, line); };
  absl::StatusOr<std::unique_ptr<fleetpdp::mosquitto::Authorizer>> authorizer;
  if (plugin->options.mode == fleetpdp::mosquitto::Mode::kRemote) {
    plugin->grpc.emplace();
    authorizer = fleetpdp::mosquitto::RemoteAuthorizer::Create(plugin->options, log);
  } else {
    authorizer = fleetpdp::mosquitto::LocalAuthorizer::Start(plugin->options, log);
  }
  if (!authorizer.ok()) {
    mosquitto_log_printf(MOSQ_LOG_ERR, "fleetpdp: %s",
                         std::string(authorizer.status().message()).c_str());
    return MOSQ_ERR_INVAL;
  }
  plugin->authorizer = *std::move(authorizer);
  if (plugin->options.mode == fleetpdp::mosquitto::Mode::kRemote) {
    const fleetpdp::mosquitto::PluginOptions& o = plugin->options;
    plugin->Log(false, absl::StrCat("fleetpdp: remote mode: asking ", o.server, " (deadline ",
                                    absl::FormatDuration(o.deadline), ", cache ", o.cache_size,
                                    " decisions for ", absl::FormatDuration(o.cache_ttl),
                                    ", failing ", o.fail_open ? "open" : "closed", ")"));
  }
  plugin->starting.store(false);
  mosquitto_callback_register(id, MOSQ_EVT_BASIC_AUTH, fleetpdp::mosquitto::OnBasicAuth, nullptr,
                              raw);
  mosquitto_callback_register(id, MOSQ_EVT_ACL_CHECK, fleetpdp::mosquitto::OnAclCheck, nullptr,
                              raw);
  mosquitto_callback_register(id, MOSQ_EVT_TICK, fleetpdp::mosquitto::OnTick, nullptr, raw);
  *userdata = plugin.release();
  return MOSQ_ERR_SUCCESS;
}

__attribute__((visibility("default"))) int mosquitto_plugin_cleanup(void* userdata,
                                                                    struct mosquitto_opt*, int) {
  auto* plugin = static_cast<Plugin*>(userdata);
  if (plugin == nullptr) return MOSQ_ERR_SUCCESS;
  mosquitto_callback_unregister(plugin->id, MOSQ_EVT_BASIC_AUTH, fleetpdp::mosquitto::OnBasicAuth,
                                nullptr);
  mosquitto_callback_unregister(plugin->id, MOSQ_EVT_ACL_CHECK, fleetpdp::mosquitto::OnAclCheck,
                                nullptr);
  mosquitto_callback_unregister(plugin->id, MOSQ_EVT_TICK, fleetpdp::mosquitto::OnTick, nullptr);
  delete plugin;
  return MOSQ_ERR_SUCCESS;
}

}  // extern "C"
