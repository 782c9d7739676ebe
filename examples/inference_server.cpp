// An inference-server-style host of belady: client threads serve batched embedding lookups
// through the cache; misses are computed by a stand-in model function and inserted; a reporter
// prints the cache's metrics periodically; an alert rule watches the hit ratio; at the end the
// health check, a snapshot round trip and the full Prometheus exposition. Every value served is
// checked against the model function: any wrong value, a failed health check or a bad snapshot
// makes the exit status non-zero (ctest runs it).
//
//   belady-inference-server [--requests N] [--clients N] [--capacity N] [--dim N] [--batch N]
//                           [--report-ms N] [--policy lru|learned] [--snapshot PATH] [--json]
#include <belady/belady.hpp>
#include <belady/logging.hpp>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

namespace {

struct options {
  std::size_t requests = 2'000'000;  ///< keys looked up, over all clients
  unsigned clients = 4;
  std::size_t capacity = 1 << 14;
  std::size_t dim = 32;
  std::size_t batch = 256;
  unsigned report_ms = 250;
  bool learned = true;
  bool json = false;
  std::string snapshot;
};

[[noreturn]] void usage(const std::string& why) {
  std::fprintf(stderr, "belady-inference-server: %s\n", why.c_str());
  std::exit(2);
}

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto number = [&]() -> std::size_t {
      if (i + 1 >= argc) usage(a + " needs a value");
      char* end = nullptr;
      const unsigned long long v = std::strtoull(argv[++i], &end, 10);
      if (*end != '\0' || v == 0) usage(a + ": expected a positive integer, got '" + argv[i] + "'");
      return v;
    };
    if (a == "--requests") o.requests = number();
    else if (a == "--clients") o.clients = static_cast<unsigned>(number());
    else if (a == "--capacity") o.capacity = number();
    else if (a == "--dim") o.dim = number();
    else if (a == "--batch") o.batch = number();
    else if (a == "--report-ms") o.report_ms = static_cast<unsigned>(number());
    else if (a == "--json") o.json = true;
    else if (a == "--snapshot" && i + 1 < argc) o.snapshot = argv[++i];
    else if (a == "--policy" && i + 1 < argc) {
      const std::string p = argv[++i];
      if (p != "lru" && p != "learned") usage("--policy: expected lru or learned, got '" + p + "'");
      o.learned = p == "learned";
    } else usage("unknown argument '" + a + "'");
  }
  return o;
}

/// The stand-in for the expensive model: a deterministic embedding of the key, with some work.
void embed(std::uint64_t key, float* out, std::size_t dim) {
  std::uint64_t x = key * 0x9e3779b97f4a7c15ULL;
  for (std::size_t j = 0; j < dim; ++j) {
    x ^= x >> 31;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 29;
    out[j] = static_cast<float>(x >> 40) / static_cast<float>(1 << 24) - 0.5f;
  }
}

/// A skewed request stream: a hot set that drifts over time, plus a long tail.
class request_stream {
 public:
  explicit request_stream(std::uint64_t seed) : rng_(seed) {}
  std::uint64_t next(std::size_t served) {
    const std::uint64_t phase = served / 100'000;  // the hot set moves every 100k requests
    if (rng_() % 100 < 80) return 1 + phase * 3000 + static_cast<std::uint64_t>(std::pow(double(rng_() % 1'000'000) / 1e6, 3.0) * 8000);
    return 1'000'000 + rng_() % 200'000;
  }

 private:
  std::mt19937_64 rng_;
};

}  // namespace

int main(int argc, char** argv) {
  const options o = parse(argc, argv);
  using cache_t = belady::cache<std::uint64_t, float>;
  belady::cache_config config;
  config.capacity = o.capacity;
  config.dim = o.dim;
  config.executor = belady::backend::automatic;
  config.eviction = o.learned ? belady::policy::learned : belady::policy::lru;
  config.online.enabled = o.learned;
  config.online.sample_rate = 0.05;
  config.online.train_every_samples = 5000;
  config.online.train_interval_ms = 200;
  // A short demonstration at full load: train anyway (a server would keep the default 0.8 and
  // train in the quieter moments).
  config.online.yield_load = 2.0;
  cache_t cache(config);
  std::printf("serving %zu lookups from %u clients: %s backend, %s policy%s, %zu slots x dim %zu\n", o.requests,
              o.clients, belady::to_string(cache.executor()).data(), belady::to_string(config.eviction).data(),
              o.learned ? " with online learning" : "", cache.capacity(), o.dim);

  // Alerts: the hit ratio over 10 s; events print as they happen.
  cache.set_alert_rules({{belady::alert_metric::hit_ratio, 0.40, 0.15, 10, 2000}});
  std::mutex print_mutex;
  cache.subscribe([&](const belady::alert_event& e) {
    std::lock_guard l(print_mutex);
    std::printf("  alert %s: %s\n", belady::to_string(e.level), e.message.c_str());
  });

  std::atomic<std::size_t> served{0}, wrong{0}, computed{0};
  std::atomic<bool> done{false};
  const std::size_t per_client = (o.requests + o.clients - 1) / o.clients;
  std::vector<std::thread> clients;
  for (unsigned c = 0; c < o.clients; ++c)
    clients.emplace_back([&, c] {
      request_stream stream(1000 + c);
      std::vector<std::uint64_t> keys(o.batch), miss_keys;
      std::vector<float> values(o.batch * o.dim), miss_values, expected(o.dim);
      std::vector<char> found(o.batch);
      std::span<bool> found_flags(reinterpret_cast<bool*>(found.data()), found.size());
      for (std::size_t n = 0; n < per_client; n += o.batch) {
        for (auto& k : keys) k = stream.next(served.load(std::memory_order_relaxed));
        cache.find(keys, values, found_flags);
        miss_keys.clear();
        miss_values.clear();
        for (std::size_t i = 0; i < keys.size(); ++i) {
          embed(keys[i], expected.data(), o.dim);
          if (found[i]) {
            if (std::memcmp(expected.data(), &values[i * o.dim], o.dim * sizeof(float)) != 0) ++wrong;
          } else {
            miss_keys.push_back(keys[i]);
            miss_values.insert(miss_values.end(), expected.begin(), expected.end());
          }
        }
        if (!miss_keys.empty()) cache.insert_or_assign(miss_keys, miss_values);
        computed += miss_keys.size();
        served += keys.size();
      }
    });

  std::thread reporter([&] {
    while (!done.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(o.report_ms));
      const belady::metrics_snapshot m = cache.metrics();
      const auto& find = m.operations[static_cast<int>(belady::operation::find)].latency;
      std::lock_guard l(print_mutex);
      std::printf("  %6.2f s  hit ratio %.3f (1 s: %.3f)  %8.0f keys/s  find p50 %.0f us p99 %.0f us  load %.2f  "
                  "model v%llu  trainer %s\n",
                  m.uptime_seconds, m.hit_ratio, m.windows[0].hit_ratio, m.keys_per_second, find.p50_us,
                  find.p99_us, m.load_factor, static_cast<unsigned long long>(m.active_model_version),
                  m.trainer_state.c_str());
    }
  });
  for (auto& t : clients) t.join();
  done = true;
  reporter.join();

  int status = 0;
  const belady::metrics_snapshot m = cache.metrics();
  std::printf("served %zu lookups, computed %zu embeddings, hit ratio %.3f, %zu wrong values\n", served.load(),
              computed.load(), m.hit_ratio, wrong.load());
  if (wrong != 0) status = 1;
  if (m.lookups != served.load()) {
    std::printf("FAIL: metrics counted %llu lookups, the clients made %zu\n", static_cast<unsigned long long>(m.lookups),
                served.load());
    status = 1;
  }

  const belady::online_report online = cache.online_status();
  if (online.enabled)
    std::printf("online learning: %llu rounds, %llu promoted, %llu rejected, %llu rolled back, %llu failed; model v%llu\n",
                static_cast<unsigned long long>(online.training_rounds), static_cast<unsigned long long>(online.promotions),
                static_cast<unsigned long long>(online.rejections), static_cast<unsigned long long>(online.rollbacks),
                static_cast<unsigned long long>(online.failures), static_cast<unsigned long long>(online.active_version));

  const belady::health_report h = cache.health();
  std::printf("health: %s, %llu keys verified\n", belady::to_string(h.status), static_cast<unsigned long long>(h.keys));
  for (const auto& p : h.problems) std::printf("  %s\n", p.c_str());
  if (h.status == belady::health_status::failed) status = 1;

  const std::filesystem::path path =
      o.snapshot.empty() ? std::filesystem::temp_directory_path() / ("belady-inference-server-" + std::to_string(::getpid()))
                         : std::filesystem::path(o.snapshot);
  try {
    cache.save_snapshot(path);
    cache_t restored(config);
    restored.load_snapshot(path);
    const std::size_t a = cache.size(), b = restored.size();
    std::printf("snapshot: %s, %zu entries, restored %zu\n", path.c_str(), a, b);
    if (a != b) status = 1;
    if (o.snapshot.empty()) std::filesystem::remove(path);
  } catch (const std::exception& e) {
    std::printf("FAIL: snapshot: %s\n", e.what());
    status = 1;
  }

  std::printf("\n%s", o.json ? (belady::to_json(m) + "\n").c_str() : belady::to_prometheus(m).c_str());
  std::printf("%s\n", status == 0 ? "OK" : "FAILED");
  return status;
}
