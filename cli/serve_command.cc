// `fleetpdp serve`: the decision server.
#include <signal.h>

#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "bundles/archive.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "cli/loading.h"
#include "engine/absl_compat.h"
#include "server/bundle_source.h"
#include "server/caller_authz.h"
#include "server/decision_log.h"
#include "server/embedded_example.h"
#include "server/emqx_http.h"
#include "server/grpc_server.h"
#include "server/http_fetch.h"
#include "server/limits.h"
#include "server/metrics.h"
#include "server/reloader.h"
#include "server/tls.h"
#include "yaml-cpp/yaml.h"

namespace fleetpdp::cli {
namespace {

constexpr char kUsage[] = R"(usage: fleetpdp serve [--config FILE] [FLAGS…]

Serves decisions over gRPC (fleetpdp.v1.DecisionService, grpc.health.v1, server reflection) and
Prometheus metrics over HTTP. Without --bundle it serves the embedded example bundle, signed with
the published development key — for trying FleetPDP out, never for production.

  --config FILE              YAML file with any of the settings below (flags override it); keys
                             are the flag names without "--", with '-' written as '_'
  --listen ADDR              gRPC address (default 0.0.0.0:50051)
  --metrics-listen ADDR      /metrics address (default 0.0.0.0:9090; "" to disable)
  --bundle PATH|URL          a bundle archive or directory (watched), or an http(s) URL (polled
                             with If-None-Match)
  --keys DIR                 trusted public keys: DIR/<key-id>.pem or DIR/<key-id>.pub.pem
  --allow-unsigned           accept unsigned bundles (local development only; warns)
  --poll-interval DURATION   how often to look for a new bundle (default 10s); SIGHUP: now
  --reload-nice N            niceness of the reload thread, 0..19 (default 10): a reload parses
                             and compiles while request threads get the CPU first
  --reload-cpu-share F       share of one core a reload may use while a bundle serves, in
                             (0, 1] (default 0.5): it works in 0.5 ms bursts of CPU time and
                             sleeps in between, so requests on its core are not queued behind
                             it; 1 turns pacing off
  --keep-parsed-documents B  true (default): keep the parsed documents of the bundle in force
                             so the next revision parses only changed files (more memory);
                             false: parse every file on every reload
  --persist FILE             keep a copy of the last good bundle here; used at startup when the
                             source is unavailable
  --http-ca-file FILE        CA certificates for an https bundle URL (default: system store)
  --http-timeout DURATION    give up on one fetch of a bundle URL after this long, connecting,
                             waiting and reading included (default 10s); the last good bundle
                             keeps serving
  --tls-cert FILE            serve gRPC over TLS with this PEM certificate chain (with --tls-key)
  --tls-key FILE             the certificate's PEM private key (unencrypted)
  --tls-client-ca FILE       require client certificates issued by these PEM CAs (mutual TLS)
  --tls-refresh-interval D   how often the three TLS files are re-read (default 10s): renewed
                             certificates are used for new connections without a restart
  --allow-callers LIST       with mutual TLS: only client certificates matching an entry may call
                             Check, BatchCheck and CheckStream (others: PERMISSION_DENIED). LIST is
                             comma-separated (flag repeatable): CN=PATTERN, SAN:dns:PATTERN,
                             SAN:uri:PATTERN, SAN:email:PATTERN, SAN:ip:PATTERN; '*' matches any
                             run of characters, e.g. 'CN=broker-*,SAN:dns:broker.fleet.local'
  --allow-admin-callers LIST the same for GetBundleInfo and server reflection; health is always
                             open. Without a list a surface admits every mutual-TLS client
  --decision-log PATH        JSON lines decision log: a file, or "-" for stdout (default: off)
  --decision-log-sample R    fraction of ALLOW decisions logged, 0..1 (DENY always; default 1)
  --decision-log-mask FIELDS write these fields as "***" (comma-separated, repeatable):
                             principal.id, principal.attributes.KEY, context.KEY, resource
  --decision-log-mask-salt-file FILE
                             write masked fields as "hmac:" + 16 hex digits of HMAC-SHA256 keyed
                             with FILE's content (at least 16 bytes; never logged): equal values
                             correlate without being shown
  --max-batch-size N         most checks in one BatchCheck (default 1000)
  --max-message-bytes N      larger requests are refused before parsing (default 4194304)
  --max-in-flight-calls N    Check/BatchCheck calls in flight across the server; more are refused
                             at once with RESOURCE_EXHAUSTED (default 4096; 0: no limit)
  --max-open-streams N       CheckStream calls open at once; more are refused with
                             RESOURCE_EXHAUSTED (default 1024; 0: no limit)
  --max-concurrent-streams N HTTP/2 streams (calls) open at once on one connection; a client
                             queues the rest on its side (default 100)
  --grpc-memory-quota BYTES  gRPC's ResourceQuota for buffers and calls, e.g. 512MiB (default);
                             under pressure gRPC shrinks windows, then cancels calls
                             (RESOURCE_EXHAUSTED)
  --grpc-max-threads N       the ResourceQuota's thread bound (default 64, at least 2): gRPC's
                             pool for synchronous services such as server reflection
  --shutdown-grace DURATION  how long SIGTERM waits for in-flight calls (default 10s)
  --emqx-listen ADDR         also answer EMQX 5's HTTP authorizer on ADDR (POST or GET
                             /v1/emqx/authorize; default off)
  --emqx-principal FIELD     the principal id of an EMQX request: clientid (default) or username
  --emqx-no-bundle ANSWER    EMQX answer while no bundle is loaded: deny (default) or ignore

Signals: SIGHUP reloads the bundle now; SIGTERM and SIGINT drain in-flight calls and exit.
)";

// Settings after config file and flags.
struct Settings {
  std::string listen = "0.0.0.0:50051";
  std::string metrics_listen = "0.0.0.0:9090";
  std::string bundle;
  std::string keys;
  bool allow_unsigned = false;
  absl::Duration poll_interval = absl::Seconds(10);
  int reload_nice = 10;
  double reload_cpu_share = 0.5;
  bool keep_parsed_documents = true;
  std::string persist;
  std::string http_ca_file;
  absl::Duration http_timeout = absl::Seconds(10);
  std::vector<std::string> allow_callers;
  std::vector<std::string> allow_admin_callers;
  std::string decision_log_mask_salt_file;
  std::string tls_cert;
  std::string tls_key;
  std::string tls_client_ca;
  absl::Duration tls_refresh_interval = absl::Seconds(10);
  std::string decision_log;
  double decision_log_sample = 1.0;
  std::vector<std::string> decision_log_mask;
  size_t max_batch_size = 1000;
  size_t max_message_bytes = 4 << 20;
  size_t max_in_flight_calls = server::ServiceLimits().max_in_flight_calls;
  size_t max_open_streams = server::ServiceLimits().max_open_streams;
  server::OverloadLimits overload;
  absl::Duration shutdown_grace = absl::Seconds(10);
  std::string emqx_listen;
  server::EmqxPrincipal emqx_principal = server::EmqxPrincipal::kClientId;
  server::EmqxNoBundle emqx_no_bundle = server::EmqxNoBundle::kDeny;
};

absl::Status Apply(Settings& s, const std::string& key, const std::string& value) {
  auto bad = [&](std::string_view what) {
    return absl::InvalidArgumentError(absl::StrCat(key, ": \"", value, "\" is not ", Absl(what)));
  };
  auto duration = [&](absl::Duration& d) {
    return absl::ParseDuration(value, &d) && d > absl::ZeroDuration() ? absl::OkStatus()
                                                                      : bad("a duration like 10s");
  };
  if (key == "listen") {
    s.listen = value;
  } else if (key == "metrics_listen") {
    s.metrics_listen = value;
  } else if (key == "bundle") {
    s.bundle = value;
  } else if (key == "keys") {
    s.keys = value;
  } else if (key == "allow_unsigned") {
    if (value != "true" && value != "false") return bad("true or false");
    s.allow_unsigned = value == "true";
  } else if (key == "poll_interval") {
    return duration(s.poll_interval);
  } else if (key == "reload_nice") {
    if (!absl::SimpleAtoi(value, &s.reload_nice) || s.reload_nice < 0 || s.reload_nice > 19) {
      return bad("an integer from 0 to 19");
    }
  } else if (key == "reload_cpu_share") {
    if (!absl::SimpleAtod(value, &s.reload_cpu_share) || !(s.reload_cpu_share > 0) ||
        s.reload_cpu_share > 1) {
      return bad("a number greater than 0 and at most 1 (e.g. 0.5)");
    }
  } else if (key == "keep_parsed_documents") {
    if (value != "true" && value != "false") return bad("true or false");
    s.keep_parsed_documents = value == "true";
  } else if (key == "shutdown_grace") {
    return duration(s.shutdown_grace);
  } else if (key == "persist") {
    s.persist = value;
  } else if (key == "http_ca_file") {
    s.http_ca_file = value;
  } else if (key == "http_timeout") {
    return duration(s.http_timeout);
  } else if (key == "allow_callers") {
    s.allow_callers.push_back(value);
  } else if (key == "allow_admin_callers") {
    s.allow_admin_callers.push_back(value);
  } else if (key == "decision_log_mask_salt_file") {
    s.decision_log_mask_salt_file = value;
  } else if (key == "tls_cert") {
    s.tls_cert = value;
  } else if (key == "tls_key") {
    s.tls_key = value;
  } else if (key == "tls_client_ca") {
    s.tls_client_ca = value;
  } else if (key == "tls_refresh_interval") {
    return duration(s.tls_refresh_interval);
  } else if (key == "decision_log") {
    s.decision_log = value;
  } else if (key == "decision_log_sample") {
    if (!absl::SimpleAtod(value, &s.decision_log_sample) || s.decision_log_sample < 0 ||
        s.decision_log_sample > 1) {
      return bad("a number from 0 to 1");
    }
  } else if (key == "decision_log_mask") {
    s.decision_log_mask.push_back(value);
  } else if (key == "max_batch_size") {
    if (!absl::SimpleAtoi(value, &s.max_batch_size) || s.max_batch_size == 0) {
      return bad("a positive integer");
    }
  } else if (key == "max_message_bytes") {
    if (!absl::SimpleAtoi(value, &s.max_message_bytes) || s.max_message_bytes < 1024) {
      return bad("an integer ≥ 1024");
    }
  } else if (key == "max_in_flight_calls") {
    if (!absl::SimpleAtoi(value, &s.max_in_flight_calls)) return bad("an integer ≥ 0");
  } else if (key == "max_open_streams") {
    if (!absl::SimpleAtoi(value, &s.max_open_streams)) return bad("an integer ≥ 0");
  } else if (key == "max_concurrent_streams") {
    if (!absl::SimpleAtoi(value, &s.overload.max_concurrent_streams) ||
        s.overload.max_concurrent_streams < 1) {
      return bad("a positive integer");
    }
  } else if (key == "grpc_memory_quota") {
    absl::StatusOr<size_t> bytes = server::ParseByteSize(value);
    if (!bytes.ok() || *bytes < (size_t{1} << 20)) return bad("a byte size ≥ 1MiB like 512MiB");
    s.overload.memory_bytes = *bytes;
  } else if (key == "grpc_max_threads") {
    if (!absl::SimpleAtoi(value, &s.overload.max_threads) || s.overload.max_threads < 2) {
      return bad("an integer ≥ 2");
    }
  } else if (key == "emqx_listen") {
    s.emqx_listen = value;
  } else if (key == "emqx_principal") {
    absl::StatusOr<server::EmqxPrincipal> p = server::ParseEmqxPrincipal(value);
    if (!p.ok()) return bad("clientid or username");
    s.emqx_principal = *p;
  } else if (key == "emqx_no_bundle") {
    absl::StatusOr<server::EmqxNoBundle> n = server::ParseEmqxNoBundle(value);
    if (!n.ok()) return bad("deny or ignore");
    s.emqx_no_bundle = *n;
  } else {
    return absl::InvalidArgumentError(absl::StrCat("unknown setting \"", key, "\""));
  }
  return absl::OkStatus();
}

constexpr const char* kKeys[] = {"listen",
                                 "metrics_listen",
                                 "bundle",
                                 "keys",
                                 "allow_unsigned",
                                 "poll_interval",
                                 "persist",
                                 "http_ca_file",
                                 "tls_cert",
                                 "tls_key",
                                 "tls_client_ca",
                                 "tls_refresh_interval",
                                 "decision_log",
                                 "decision_log_sample",
                                 "decision_log_mask",
                                 "max_batch_size",
                                 "max_message_bytes",
                                 "shutdown_grace",
                                 "emqx_listen",
                                 "emqx_principal",
                                 "emqx_no_bundle",
                                 "max_in_flight_calls",
                                 "max_open_streams",
                                 "max_concurrent_streams",
                                 "grpc_memory_quota",
                                 "grpc_max_threads",
                                 "reload_nice",
                                 "reload_cpu_share",
                                 "keep_parsed_documents"};
// Caller authorization, the decision log's mask salt, the bundle fetch timeout.
constexpr const char* kHardeningKeys[] = {"allow_callers", "allow_admin_callers",
                                          "decision_log_mask_salt_file", "http_timeout"};

absl::Status LoadConfig(const std::string& path, Settings& s) {
  absl::StatusOr<std::string> text = bundles::ReadFileBytes(path);
  if (!text.ok()) return text.status();
  YAML::Node doc;
  try {
    doc = YAML::Load(*text);
  } catch (const YAML::ParserException& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ":", e.mark.line + 1, ":", e.mark.column + 1, ": ", e.msg));
  }
  if (doc.IsNull()) return absl::OkStatus();
  if (!doc.IsMap()) return absl::InvalidArgumentError(absl::StrCat(path, ": must be a mapping"));
  for (auto it = doc.begin(); it != doc.end(); ++it) {
    YAML::Node key = it->first;
    YAML::Node value = it->second;
    std::string name = key.IsScalar() ? key.Scalar() : "";
    auto where = [&](const YAML::Node& n) {
      return absl::StrCat(path, ":", n.Mark().line + 1, ":", n.Mark().column + 1, ": ");
    };
    std::vector<std::string> values;
    if (value.IsScalar()) {
      values.push_back(value.Scalar());
    } else if (value.IsSequence() && (name == "decision_log_mask" || name == "allow_callers" ||
                                      name == "allow_admin_callers")) {
      for (const YAML::Node& v : value) values.push_back(v.Scalar());
    } else {
      return absl::InvalidArgumentError(absl::StrCat(where(value), "\"", name, "\" needs a value"));
    }
    for (const std::string& v : values) {
      if (absl::Status st = Apply(s, name, v); !st.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(where(key), st.message()));
      }
    }
  }
  return absl::OkStatus();
}

void Log(std::string_view message) {
  std::cerr << absl::FormatTime("%Y-%m-%dT%H:%M:%SZ ", absl::Now(), absl::UTCTimeZone()) << message
            << "\n";
}

}  // namespace

int RunServeCommand(int argc, char** argv) {
  Args args(argc, argv);
  if (args.Help()) return (std::cout << kUsage, kExitOk);
  auto fail = [](absl::string_view message) {
    Log(absl::StrCat("fatal: ", message));
    return kExitUsage;
  };
  Settings s;
  if (std::optional<std::string> config = args.Take("--config")) {
    if (absl::Status st = LoadConfig(*config, s); !st.ok()) return fail(st.message());
  }
  std::vector<const char*> keys(std::begin(kKeys), std::end(kKeys));
  keys.insert(keys.end(), std::begin(kHardeningKeys), std::end(kHardeningKeys));
  for (const char* key : keys) {
    std::string flag = absl::StrCat("--", absl::StrReplaceAll(key, {{"_", "-"}}));
    if (std::string(key) == "allow_unsigned") {
      if (args.TakeSwitch(flag)) s.allow_unsigned = true;
      continue;
    }
    for (const std::string& value : args.TakeAll(flag)) {
      if (absl::Status st = Apply(s, key, value); !st.ok()) {
        return fail(absl::StrCat(flag, ": ", st.message()));
      }
    }
  }
  if (absl::Status st = args.Finish(); !st.ok()) {
    std::cerr << "fleetpdp serve: " << st.message() << "\n\n" << kUsage;
    return kExitUsage;
  }

  // A decision log on stdout piped into a reader that exits must not kill the server.
  signal(SIGPIPE, SIG_IGN);
  // Signals are blocked before any thread starts, so only the waiting thread below sees them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  // TLS files are checked before anything starts: a bad one is a configuration error.
  server::GrpcServerOptions options;
  std::string transport = "plaintext";
  if (!s.tls_cert.empty() || !s.tls_key.empty() || !s.tls_client_ca.empty()) {
    if (s.tls_cert.empty() || s.tls_key.empty()) {
      return fail("--tls-cert and --tls-key go together (and --tls-client-ca needs both)");
    }
    server::ServerTlsOptions tls{.cert_file = s.tls_cert,
                                 .key_file = s.tls_key,
                                 .client_ca_file = s.tls_client_ca,
                                 .refresh_interval = s.tls_refresh_interval};
    absl::StatusOr<std::string> subject = server::CheckServerTlsFiles(tls);
    if (!subject.ok()) return fail(subject.status().message());
    absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
        server::MakeServerCredentials(tls);
    if (!credentials.ok()) return fail(credentials.status().message());
    options.credentials = *std::move(credentials);
    transport =
        absl::StrCat(s.tls_client_ca.empty() ? "TLS" : "mutual TLS", " as \"", *subject, "\"");
  }
  // Caller authorization: identities exist only with client certificates.
  server::CallerAuthzOptions authz{.decision_callers = s.allow_callers,
                                   .admin_callers = s.allow_admin_callers,
                                   .log = [](std::string_view line) { Log(line); }};
  const bool authz_configured = !s.allow_callers.empty() || !s.allow_admin_callers.empty();
  if (authz_configured && s.tls_client_ca.empty()) {
    return fail(
        "--allow-callers and --allow-admin-callers need mutual TLS (--tls-cert, --tls-key and "
        "--tls-client-ca): without client certificates there is no caller identity to check");
  }
  if (!s.decision_log_mask_salt_file.empty() &&
      (s.decision_log.empty() || s.decision_log_mask.empty())) {
    return fail(
        "--decision-log-mask-salt-file keys the masks of --decision-log-mask: give both, and "
        "--decision-log");
  }
  for (const auto& [flag, entries] : {std::pair{"--allow-callers", &s.allow_callers},
                                      std::pair{"--allow-admin-callers", &s.allow_admin_callers}}) {
    if (absl::Status st = server::ParseCallerMatchers(flag, *entries).status(); !st.ok()) {
      return fail(st.message());
    }
  }

  // The bundle source and trusted keys.
  std::unique_ptr<server::BundleSource> source;
  bundles::Keyring keyring;
  if (s.bundle.empty()) {
    Log("no --bundle: serving the embedded example bundle, signed with the published "
        "development key (not for production)");
    absl::StatusOr<bundles::BundleFiles> files =
        bundles::ReadBundleArchive(server::EmbeddedExampleBundle());
    if (!files.ok()) return fail(files.status().message());
    source = server::MakeMemorySource("embedded:examples/fleet.bundle.tar.gz", *std::move(files));
    if (s.keys.empty()) {
      if (absl::Status st = keyring.Add(std::string(server::kEmbeddedExampleKeyId),
                                        std::string(server::EmbeddedExampleKey()));
          !st.ok()) {
        return fail(st.message());
      }
    }
  } else {
    server::HttpSourceOptions http;
    http.ca_file = s.http_ca_file;
    http.timeout = s.http_timeout;
    absl::StatusOr<std::unique_ptr<server::BundleSource>> made =
        server::MakeBundleSource(s.bundle, {}, http);
    if (!made.ok()) return fail(made.status().message());
    source = *std::move(made);
  }
  if (!s.keys.empty()) {
    absl::StatusOr<bundles::Keyring> loaded = bundles::Keyring::LoadDirectory(s.keys);
    if (!loaded.ok()) return fail(loaded.status().message());
    keyring = *std::move(loaded);
  } else if (!s.bundle.empty() && !s.allow_unsigned) {
    return fail("--keys DIR is required to verify bundles (or --allow-unsigned for development)");
  }
  if (s.allow_unsigned) std::cerr << kUnsignedWarning;

  absl::StatusOr<std::unique_ptr<server::Metrics>> metrics =
      server::Metrics::Create({.listen = s.metrics_listen});
  if (!metrics.ok()) return fail(metrics.status().message());
  std::unique_ptr<server::DecisionLog> log;
  if (!s.decision_log.empty()) {
    server::DecisionLogOptions options;
    options.path = s.decision_log;
    options.allow_sample_rate = s.decision_log_sample;
    options.masked_fields = s.decision_log_mask;
    if (!s.decision_log_mask_salt_file.empty()) {
      absl::StatusOr<std::string> salt = server::ReadMaskSalt(s.decision_log_mask_salt_file);
      if (!salt.ok()) return fail(salt.status().message());
      options.mask_salt = *std::move(salt);
    }
    options.on_error = [](std::string_view line) { Log(line); };
    absl::StatusOr<std::unique_ptr<server::DecisionLog>> made =
        server::DecisionLog::Create(options, metrics->get());
    if (!made.ok()) return fail(made.status().message());
    log = *std::move(made);
  }

  server::BundleHolder holder;
  std::unique_ptr<server::GrpcServer> grpc_server;  // set below; the reload callback reads it
  server::ReloaderOptions reload;
  reload.allow_unsigned = s.allow_unsigned;
  reload.persist_path = s.persist;
  reload.reload_nice = s.reload_nice;
  reload.reload_cpu_share = s.reload_cpu_share;
  reload.on_paced = [share = s.reload_cpu_share](const server::ReloadPacer::Stats& p) {
    Log(absl::StrFormat(
        "bundle: reload paced to %.0f%% of a core: %.2f s of CPU in %d bursts, %.2f s of pauses, "
        "longest stretch between pace points %.1f ms",
        100 * share, absl::ToDoubleSeconds(p.worked), p.pauses + 1, absl::ToDoubleSeconds(p.paused),
        absl::ToDoubleMilliseconds(p.longest_stretch)));
  };
  reload.keep_parsed_documents = s.keep_parsed_documents;
  reload.on_attempt = [&](const absl::Status& status, const bundles::BundleMetadata* m) {
    if (!status.ok()) {
      std::string_view fetch = server::FetchFailureOf(status);
      Log(absl::StrCat(
          "bundle: ",
          fetch.empty() ? std::string() : absl::StrCat("fetch failed (", Absl(fetch), "): "),
          status.message(), holder.Current() ? " (still serving the last good bundle)" : ""));
    } else if (m != nullptr) {
      Log(absl::StrCat(
          "bundle: serving \"", m->name, "\" rev ", m->revision, " digest ", m->digest,
          m->is_signed ? absl::StrCat(" signed by \"", m->key_id, "\"") : std::string(" UNSIGNED"),
          m->directory_reused ? " (groups and entities unchanged: reused)" : ""));
    }
  };
  server::Reloader reloader(std::move(source), &keyring, reload, holder, metrics->get());
  std::string source_name = reloader.source();
  if (absl::Status st = reloader.ReloadNow(); !st.ok() && !s.persist.empty()) {
    Log(absl::StrCat("trying the persisted copy ", s.persist));
    (void)reloader.LoadPersisted();
  }

  if (authz_configured) {
    absl::StatusOr<std::shared_ptr<grpc::AuthMetadataProcessor>> processor =
        server::MakeCallerAuthz(authz, metrics->get());
    if (!processor.ok()) return fail(processor.status().message());
    options.auth_processor = *std::move(processor);
    Log(absl::StrCat("caller authorization: ", server::DescribeCallerAuthz(authz)));
  }
  options.listen = s.listen;
  options.max_message_bytes = s.max_message_bytes;
  options.limits.max_batch_size = s.max_batch_size;
  options.limits.max_in_flight_calls = s.max_in_flight_calls;
  options.limits.max_open_streams = s.max_open_streams;
  options.overload = s.overload;
  options.source = source_name;
  absl::StatusOr<std::unique_ptr<server::GrpcServer>> started =
      server::GrpcServer::Start(options, holder, metrics->get(), log.get());
  if (!started.ok()) return fail(started.status().message());
  grpc_server = *std::move(started);
  if (holder.Current()) grpc_server->SetServing(true);
  auto limit = [](size_t n) { return n == 0 ? std::string("no limit") : absl::StrCat(n); };
  Log(absl::StrCat("limits: calls in flight ", limit(s.max_in_flight_calls), ", open streams ",
                   limit(s.max_open_streams), ", streams per connection ",
                   s.overload.max_concurrent_streams, ", gRPC memory ",
                   s.overload.memory_bytes >> 20, " MiB, gRPC threads ", s.overload.max_threads,
                   ", request size ", s.max_message_bytes, " bytes"));
  Log(absl::StrCat("listening on ", s.listen, " (port ", grpc_server->port(), ") over ", transport,
                   s.metrics_listen.empty() ? std::string()
                                            : absl::StrCat(", metrics on ", s.metrics_listen,
                                                           "/metrics, port ", (*metrics)->port())));

  // The EMQX endpoint: after the gRPC server, on its own threads; stopped before the gRPC drain.
  std::unique_ptr<server::EmqxHttpServer> emqx;
  if (!s.emqx_listen.empty()) {
    server::EmqxHttpOptions emqx_options;
    emqx_options.listen = s.emqx_listen;
    emqx_options.principal = s.emqx_principal;
    emqx_options.no_bundle = s.emqx_no_bundle;
    emqx_options.metrics = metrics->get();
    absl::StatusOr<std::unique_ptr<server::EmqxHttpServer>> made =
        server::EmqxHttpServer::Start(emqx_options, holder, log.get());
    if (!made.ok()) {
      grpc_server->Shutdown(absl::ZeroDuration());
      return fail(made.status().message());
    }
    emqx = *std::move(made);
    Log(absl::StrCat("EMQX authorization on ", s.emqx_listen, " (port ", emqx->port(),
                     ") POST/GET /v1/emqx/authorize, principal ",
                     s.emqx_principal == server::EmqxPrincipal::kUsername ? "username" : "clientid",
                     ", without a bundle: ",
                     s.emqx_no_bundle == server::EmqxNoBundle::kIgnore ? "ignore" : "deny"));
  }
  reloader.Start(s.poll_interval);

  // Wait for signals. Health follows the bundle: SERVING once one is loaded.
  while (true) {
    timespec tick{1, 0};
    int sig = sigtimedwait(&signals, nullptr, &tick);
    if (holder.Current()) grpc_server->SetServing(true);
    if (sig == SIGHUP) {
      Log("SIGHUP: reloading the bundle");
      reloader.Trigger();
    } else if (sig == SIGTERM || sig == SIGINT) {
      Log(absl::StrCat(sig == SIGTERM ? "SIGTERM" : "SIGINT", ": draining in-flight calls (up to ",
                       absl::FormatDuration(s.shutdown_grace), ")"));
      break;
    }
  }
  if (emqx) emqx->Stop(s.shutdown_grace);
  reloader.Stop();
  grpc_server->Shutdown(s.shutdown_grace);
  if (log) log->Flush();
  Log("stopped");
  return kExitOk;
}

}  // namespace fleetpdp::cli
