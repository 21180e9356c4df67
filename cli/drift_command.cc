// `fleetpdp drift --targets A,B,C`: asks every replica which bundle it serves and names the ones
// that disagree with the rest. The same question Prometheus answers from fleetpdp_bundle_info
// (deploy/prometheus), asked directly, for a rollout script or a person at a terminal.
#include <grpcpp/grpcpp.h>
#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <latch>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "cli/args.h"
#include "cli/client_flags.h"
#include "cli/commands.h"
#include "engine/absl_compat.h"
#include "fleetpdp/v1/decision.grpc.pb.h"

namespace fleetpdp::cli {
namespace {

namespace v1 = fleetpdp::v1;

constexpr char kUsage[] =
    R"(usage: fleetpdp drift --targets TARGET[,TARGET…] [--timeout DURATION] [TLS FLAGS]

Asks every replica for the bundle it serves (GetBundleInfo), prints one row per replica and
says whether they agree. Replicas agree when they serve the same revision with the same digest.

  --targets LIST       comma-separated; each is host:port (asked once), or dns:///NAME:PORT,
                       which asks every address NAME resolves to (e.g. a Kubernetes headless
                       Service: dns:///fleetpdp-headless.pdp.svc:50051). Repeatable.
  --timeout DURATION   deadline for each call (default 5s); the replicas are asked in parallel

TLS FLAGS (plaintext without them; with dns:/// targets the certificate is checked for NAME):
)";

constexpr char kUsageStatus[] = R"(
Status column: ok; DRIFT (serves something other than the majority); NO BUNDLE (reachable, but
nothing verified is loaded); UNREACHABLE (the call failed). When the replicas split evenly, the
group with the highest revision counts as the majority.

Exit status: 0 all replicas agree; 1 some disagree or serve no bundle (named on stderr); 2 bad
usage; 3 a replica could not be asked (this wins over 1: the picture is incomplete).
)";

constexpr int kExitCallFailed = 3;

void PrintUsage(std::ostream& out) { out << kUsage << kClientTlsUsage << kUsageStatus; }

// One replica to ask. `server_name` is the TLS name to check when the address was found through
// DNS (certificates name the service, not a pod's address).
struct Target {
  std::string address;
  std::string server_name;
};

// What one replica answered.
struct Answer {
  Target target;
  grpc::Status status;
  v1::BundleInfo info;
};

// host:port with IPv6 addresses in brackets, as gRPC's target syntax wants them.
std::string HostPort(const std::string& host, const std::string& port) {
  return host.find(':') != std::string::npos ? absl::StrCat("[", host, "]:", port)
                                             : absl::StrCat(host, ":", port);
}

// Expands "dns:///name:port" into one target per address (sorted, without duplicates); any other
// target is kept as it is.
absl::StatusOr<std::vector<Target>> Expand(const std::string& target) {
  absl::string_view rest = target;
  if (!absl::ConsumePrefix(&rest, "dns:///")) return std::vector<Target>{{target, ""}};
  const size_t colon = rest.rfind(':');
  int port_number = 0;
  if (colon == absl::string_view::npos || !absl::SimpleAtoi(rest.substr(colon + 1), &port_number) ||
      port_number <= 0 || port_number > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("\"", target, "\" is not dns:///NAME:PORT"));
  }
  std::string name(absl::StripPrefix(absl::StripSuffix(rest.substr(0, colon), "]"), "["));
  std::string port(rest.substr(colon + 1));
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (int err = getaddrinfo(name.c_str(), port.c_str(), &hints, &found); err != 0) {
    return absl::UnavailableError(
        absl::StrCat("resolving \"", name, "\": ", Absl(gai_strerror(err))));
  }
  std::set<std::string> addresses;
  for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
    char host[NI_MAXHOST];
    if (getnameinfo(a->ai_addr, a->ai_addrlen, host, sizeof host, nullptr, 0, NI_NUMERICHOST) ==
        0) {
      addresses.insert(host);
    }
  }
  freeaddrinfo(found);
  if (addresses.empty()) {
    return absl::UnavailableError(absl::StrCat("\"", name, "\" resolves to no address"));
  }
  std::vector<Target> targets;
  targets.reserve(addresses.size());
  for (const std::string& host : addresses) targets.push_back({HostPort(host, port), name});
  return targets;
}

// The TLS settings for one target: an address found through DNS is checked against the name it
// was found for, unless --tls-server-name says otherwise.
std::optional<client::TlsOptions> TlsFor(const Target& target,
                                         std::optional<client::TlsOptions> tls) {
  if (tls && tls->server_name.empty()) tls->server_name = target.server_name;
  return tls;
}

client::ClientOptions OptionsFor(std::string address, std::optional<client::TlsOptions> tls,
                                 absl::Duration timeout) {
  client::ClientOptions o;
  o.target = std::move(address);
  o.tls = std::move(tls);
  o.deadline = timeout;
  o.max_attempts = 1;
  o.own_connections = true;  // each replica is asked on its own connection
  // A dead replica's subchannel holds gRPC up until its first reconnect backoff ends, and main
  // waits for gRPC to end before exit (as in check_command.cc).
  o.initial_reconnect_backoff = absl::Milliseconds(100);
  return o;
}

// Asks every target at once; returns when all have answered or timed out.
// REQUIRES: client::Client::Create accepts `tls` (its errors depend on the files, not the target).
std::vector<Answer> AskAll(const std::vector<Target>& targets,
                           const std::optional<client::TlsOptions>& tls, absl::Duration timeout) {
  struct Call {
    std::unique_ptr<client::Client> client;
    std::unique_ptr<v1::DecisionService::Stub> stub;
    grpc::ClientContext context;
    v1::GetBundleInfoRequest request;
  };
  std::vector<Answer> answers(targets.size());
  std::vector<std::unique_ptr<Call>> calls;
  std::latch done(static_cast<std::ptrdiff_t>(targets.size()));
  for (size_t i = 0; i < targets.size(); ++i) {
    answers[i].target = targets[i];
    auto call = std::make_unique<Call>();
    call->client =
        *client::Client::Create(OptionsFor(targets[i].address, TlsFor(targets[i], tls), timeout));
    call->stub = v1::DecisionService::NewStub(call->client->channel());
    call->context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
    // The callback writes only answers[i]; the latch orders it before the reads below.
    call->stub->async()->GetBundleInfo(&call->context, &call->request, &answers[i].info,
                                       [&answers, &done, i](grpc::Status status) {
                                         answers[i].status = std::move(status);
                                         done.count_down();
                                       });
    calls.push_back(std::move(call));
  }
  done.wait();
  return answers;
}

std::string Shorten(const std::string& text, size_t width) {
  return text.size() <= width ? text : absl::StrCat(text.substr(0, width - 3), "...");
}

}  // namespace

int RunDriftCommand(int argc, char** argv) {
  Args args(argc, argv);
  if (args.Help()) return (PrintUsage(std::cout), kExitOk);
  std::vector<std::string> lists = args.TakeAll("--targets");
  absl::Duration timeout = absl::Seconds(5);
  if (std::optional<std::string> t = args.Take("--timeout");
      t && (!absl::ParseDuration(*t, &timeout) || timeout <= absl::ZeroDuration())) {
    std::cerr << "fleetpdp drift: --timeout \"" << *t << "\" is not a duration like 2s\n";
    return kExitUsage;
  }
  const std::optional<client::TlsOptions> tls = TakeClientTlsFlags(args);
  std::vector<std::string> names;
  for (const std::string& list : lists) {
    for (absl::string_view name : absl::StrSplit(list, ',', absl::SkipWhitespace())) {
      names.emplace_back(absl::StripAsciiWhitespace(name));
    }
  }
  absl::Status usage = args.Finish();
  if (usage.ok() && names.empty()) usage = absl::InvalidArgumentError("missing --targets LIST");
  if (!usage.ok()) {
    std::cerr << "fleetpdp drift: " << usage.message() << "\n\n";
    PrintUsage(std::cerr);
    return kExitUsage;
  }
  // Unreadable certificate files or a certificate without its key: a usage error, found before
  // any replica is asked.
  if (absl::StatusOr<std::unique_ptr<client::Client>> probe =
          client::Client::Create(OptionsFor(names.front(), tls, timeout));
      !probe.ok()) {
    std::cerr << "fleetpdp drift: " << probe.status().message() << "\n";
    return kExitUsage;
  }

  std::vector<Target> targets;
  bool unresolved = false;
  for (const std::string& name : names) {
    absl::StatusOr<std::vector<Target>> expanded = Expand(name);
    if (expanded.status().code() == absl::StatusCode::kInvalidArgument) {
      std::cerr << "fleetpdp drift: " << expanded.status().message() << "\n";
      return kExitUsage;
    }
    if (!expanded.ok()) {
      std::cerr << "fleetpdp drift: " << expanded.status().message() << "\n";
      unresolved = true;
      continue;
    }
    for (Target& t : *expanded) {  // a replica named twice is asked once
      if (std::none_of(targets.begin(), targets.end(),
                       [&](const Target& seen) { return seen.address == t.address; })) {
        targets.push_back(std::move(t));
      }
    }
  }

  const std::vector<Answer> answers = AskAll(targets, tls, timeout);

  // The majority: the (revision, digest) most replicas serve; ties go to the highest revision.
  std::map<std::pair<uint64_t, std::string>, int> votes;
  for (const Answer& a : answers) {
    if (a.status.ok() && a.info.serving()) ++votes[{a.info.revision(), a.info.digest()}];
  }
  std::optional<std::pair<uint64_t, std::string>> majority;
  int most = 0;
  for (const auto& [bundle, count] : votes) {  // ascending revision: >= lets the highest win ties
    if (count >= most) most = count, majority = bundle;
  }

  bool unreachable = unresolved;
  std::vector<const Answer*> odd;
  std::printf("%-24s %9s  %-64s  %-16s  %s\n", "TARGET", "REVISION", "DIGEST", "KEY ID", "STATUS");
  for (const Answer& a : answers) {
    std::string status;
    if (!a.status.ok()) {
      unreachable = true;
      status = absl::StrCat("UNREACHABLE (", a.status.error_message(), ")");
    } else if (!a.info.serving()) {
      odd.push_back(&a);
      status = "NO BUNDLE";
    } else if (std::pair{a.info.revision(), a.info.digest()} != *majority) {
      odd.push_back(&a);
      status = "DRIFT";
    } else {
      status = "ok";
    }
    const bool answered = a.status.ok() && a.info.serving();
    std::printf("%-24s %9s  %-64s  %-16s  %s\n", a.target.address.c_str(),
                answered ? std::to_string(a.info.revision()).c_str() : "-",
                answered ? a.info.digest().c_str() : "-",
                answered ? Shorten(a.info.key_id(), 16).c_str() : "-", status.c_str());
  }
  for (const Answer& a : answers) {
    if (a.status.ok() && !a.info.last_load_error().empty()) {
      std::printf("%s: last load failed: %s\n", a.target.address.c_str(),
                  a.info.last_load_error().c_str());
    }
  }
  std::fflush(stdout);

  for (const Answer* a : odd) {
    std::cerr << "fleetpdp drift: " << a->target.address
              << (a->info.serving() ? absl::StrCat(" serves rev ", a->info.revision(), " digest ",
                                                   a->info.digest())
                                    : std::string(" serves no verified bundle"))
              << (majority ? absl::StrCat("; the majority serves rev ", majority->first, " digest ",
                                          majority->second)
                           : std::string("; no replica serves one"))
              << "\n";
  }
  if (unreachable) {
    std::cerr << "fleetpdp drift: not every replica answered\n";
    return kExitCallFailed;
  }
  if (!odd.empty()) return kExitFailed;
  std::cout << answers.size() << " replica(s) agree: rev " << majority->first << " digest "
            << majority->second << "\n";
  return kExitOk;
}

}  // namespace fleetpdp::cli
