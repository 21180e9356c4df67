// fleetpdp_mqtt_bench: messages/s through an MQTT broker, to compare Mosquitto with and without the
// FleetPDP plugin. Publishers send QoS 1 messages on their own telemetry topics with a bounded
// window of unacknowledged messages each; one subscriber receives them all (QoS 1) and counts.
// The figure is deliveries per second to the subscriber over the measured interval, after a
// warm-up; each delivery cost the broker one publish check and one receive check.
//
//   fleetpdp_mqtt_bench --port 1883 --publishers d1,d2 --subscriber dashboard --seconds 5
//
// Uses libmosquitto (Debian's libmosquitto-dev), each client on its own network thread.
#include <mosquitto.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"

namespace {

constexpr char kUsage[] = R"(usage: fleetpdp_mqtt_bench --port PORT [--host 127.0.0.1]
         [--publishers ID,ID…] [--subscriber ID] [--topic-format devices/%s/telemetry/t]
         [--filter devices/+/telemetry/#] [--window N] [--warmup S] [--seconds S] [--payload BYTES]

Publishers (client ids) publish QoS 1 messages to the topic format with their id, at most --window
unacknowledged each; the subscriber receives them on --filter. Prints deliveries/s measured over
--seconds after --warmup, and exits 1 if nothing was delivered or a client failed.
)";

struct Counter {
  std::atomic<uint64_t> delivered{0};
};

struct Publisher {
  std::string id;
  std::string topic;
  mosquitto* mosq = nullptr;
  std::mutex mu;
  std::condition_variable cv;
  int inflight = 0;
  std::atomic<bool> failed{false};
};

void OnMessage(mosquitto*, void* user, const mosquitto_message*) {
  static_cast<Counter*>(user)->delivered.fetch_add(1, std::memory_order_relaxed);
}

void OnPublish(mosquitto*, void* user, int) {
  auto* p = static_cast<Publisher*>(user);
  {
    std::lock_guard<std::mutex> lock(p->mu);
    --p->inflight;
  }
  p->cv.notify_one();
}

void OnDisconnect(mosquitto*, void* user, int rc) {
  if (rc != 0) static_cast<Publisher*>(user)->failed = true;
}

mosquitto* Connect(const std::string& id, void* user, const std::string& host, int port) {
  mosquitto* m = mosquitto_new(id.c_str(), true, user);
  if (m == nullptr) return nullptr;
  mosquitto_int_option(m, MOSQ_OPT_TCP_NODELAY, 1);
  mosquitto_int_option(m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
  mosquitto_max_inflight_messages_set(m, 0);  // our window limits instead
  if (int rc = mosquitto_connect(m, host.c_str(), port, 60); rc != MOSQ_ERR_SUCCESS) {
    std::cerr << "fleetpdp_mqtt_bench: " << id << ": connect: " << mosquitto_strerror(rc) << "\n";
    mosquitto_destroy(m);
    return nullptr;
  }
  return m;
}

}  // namespace

int main(int argc, char** argv) {
  std::string host = "127.0.0.1", subscriber = "dashboard", filter = "devices/+/telemetry/#";
  std::string format = "devices/%s/telemetry/t";
  std::vector<std::string> publishers = {"d1", "d2"};
  int port = 0, window = 64, payload = 32;
  double warmup = 1, seconds = 5;
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    if (flag == "--help" || flag == "-h") return (std::cout << kUsage, 0);
    if (i + 1 >= argc)
      return (std::cerr << "fleetpdp_mqtt_bench: " << flag << " needs a value\n\n" << kUsage, 2);
    std::string value = argv[++i];
    bool ok = true;
    if (flag == "--host")
      host = value;
    else if (flag == "--port")
      ok = absl::SimpleAtoi(value, &port) && port > 0;
    else if (flag == "--publishers")
      publishers = absl::StrSplit(value, ',', absl::SkipEmpty());
    else if (flag == "--subscriber")
      subscriber = value;
    else if (flag == "--topic-format")
      format = value;
    else if (flag == "--filter")
      filter = value;
    else if (flag == "--window")
      ok = absl::SimpleAtoi(value, &window) && window > 0;
    else if (flag == "--payload")
      ok = absl::SimpleAtoi(value, &payload) && payload >= 0;
    else if (flag == "--warmup")
      ok = absl::SimpleAtod(value, &warmup) && warmup >= 0;
    else if (flag == "--seconds")
      ok = absl::SimpleAtod(value, &seconds) && seconds > 0;
    else
      return (std::cerr << "fleetpdp_mqtt_bench: unknown flag \"" << flag << "\"\n\n" << kUsage, 2);
    if (!ok)
      return (std::cerr << "fleetpdp_mqtt_bench: " << flag << ": bad value \"" << value << "\"\n",
              2);
  }
  if (port == 0 || publishers.empty() || format.find("%s") == std::string::npos) {
    std::cerr << "fleetpdp_mqtt_bench: --port is required, --publishers must not be empty and "
                 "--topic-format must contain %s\n\n"
              << kUsage;
    return 2;
  }

  mosquitto_lib_init();
  Counter counter;
  mosquitto* sub = Connect(subscriber, &counter, host, port);
  if (sub == nullptr) return 1;
  mosquitto_message_callback_set(sub, OnMessage);
  mosquitto_subscribe(sub, nullptr, filter.c_str(), 1);
  mosquitto_loop_start(sub);

  std::vector<std::unique_ptr<Publisher>> pubs;
  for (const std::string& id : publishers) {
    auto p = std::make_unique<Publisher>();
    p->id = id;
    p->topic = format;
    p->topic.replace(p->topic.find("%s"), 2, id);
    p->mosq = Connect(id, p.get(), host, port);
    if (p->mosq == nullptr) return 1;
    mosquitto_publish_callback_set(p->mosq, OnPublish);
    mosquitto_disconnect_callback_set(p->mosq, OnDisconnect);
    mosquitto_loop_start(p->mosq);
    pubs.push_back(std::move(p));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // let the subscription settle

  using Clock = std::chrono::steady_clock;
  const Clock::time_point start = Clock::now();
  const Clock::time_point measure_from =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(warmup));
  const Clock::time_point end = measure_from + std::chrono::duration_cast<Clock::duration>(
                                                   std::chrono::duration<double>(seconds));
  std::string body(static_cast<size_t>(payload), 'x');
  std::vector<std::thread> threads;
  for (auto& p : pubs) {
    threads.emplace_back([&, pub = p.get()] {
      while (Clock::now() < end && !pub->failed) {
        {
          std::unique_lock<std::mutex> lock(pub->mu);
          pub->cv.wait_for(lock, std::chrono::milliseconds(100),
                           [&] { return pub->inflight < window; });
          if (pub->inflight >= window) continue;
          ++pub->inflight;
        }
        if (mosquitto_publish(pub->mosq, nullptr, pub->topic.c_str(), payload, body.data(), 1,
                              false) != MOSQ_ERR_SUCCESS) {
          pub->failed = true;
        }
      }
    });
  }
  std::this_thread::sleep_until(measure_from);
  uint64_t first = counter.delivered.load();
  std::this_thread::sleep_until(end);
  uint64_t last = counter.delivered.load();
  for (std::thread& t : threads) t.join();

  bool failed = false;
  for (auto& p : pubs) {
    failed |= p->failed.load();
    mosquitto_disconnect(p->mosq);
    mosquitto_loop_stop(p->mosq, false);
    mosquitto_destroy(p->mosq);
  }
  mosquitto_disconnect(sub);
  mosquitto_loop_stop(sub, false);
  mosquitto_destroy(sub);
  mosquitto_lib_cleanup();

  double rate = static_cast<double>(last - first) / seconds;
  std::printf("deliveries_per_second %.0f\ndelivered %llu\ndelivered_total %llu\n", rate,
              static_cast<unsigned long long>(last - first),
              static_cast<unsigned long long>(counter.delivered.load()));
  if (failed) std::cerr << "fleetpdp_mqtt_bench: a publisher failed or was disconnected\n";
  return failed || last == first ? 1 : 0;
}
