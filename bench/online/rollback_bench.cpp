// belady-rollback-bench: detection and reversion time of the online watch (issue: detect within
// 200 ms, revert within 300 ms at a realistic request rate).
//
//   belady-rollback-bench [--clients N] [--trials N] [--capacity N] [--batch N] [--backend host|cuda]
//
// A learned cache with online learning in thread mode (training off: only the watch acts) serves
// a zipf 0.9 workload from N client threads (find a batch, insert its misses). Once warm, the
// bench installs a model with inverted scores (evicts the most recently used) and waits for the
// learner to roll it back; it prints the request rate, the live hit ratio before and after, and
// the learner's detect_ms and revert_ms (measured from the registry's time of the swap), per trial
// and as medians. With --backend cuda the clients' batches are staged in device memory (each
// batch: upload, find, download of `found`, upload of the misses, insert).
#include <belady/belady.hpp>
#include <belady/model/registry.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "../bench/device_memory.hpp"

namespace {

struct options {
  unsigned clients = 2;
  unsigned trials = 5;
  std::size_t capacity = 1 << 18;
  std::size_t batch = 1024;
  belady::backend executor = belady::backend::host;
};

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> unsigned long long {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "belady-rollback-bench: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return std::strtoull(argv[++i], nullptr, 10);
    };
    if (a == "--clients") o.clients = static_cast<unsigned>(value());
    else if (a == "--trials") o.trials = static_cast<unsigned>(value());
    else if (a == "--capacity") o.capacity = value();
    else if (a == "--batch") o.batch = value();
    else if (a == "--backend" && i + 1 < argc && std::string(argv[i + 1]) == "host") o.executor = belady::backend::host, ++i;
    else if (a == "--backend" && i + 1 < argc && std::string(argv[i + 1]) == "cuda") o.executor = belady::backend::cuda, ++i;
    else {
      std::fprintf(stderr,
                   "usage: belady-rollback-bench [--clients N] [--trials N] [--capacity N] [--batch N] "
                   "[--backend host|cuda]\n");
      std::exit(2);
    }
  }
  if (o.clients == 0 || o.trials == 0 || o.capacity < 4096 || o.batch == 0) {
    std::fprintf(stderr, "belady-rollback-bench: clients, trials, batch >= 1 and capacity >= 4096\n");
    std::exit(2);
  }
  return o;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const options o = parse(argc, argv);
  const bool on_device = o.executor == belady::backend::cuda;
  if (on_device && !(belady_bench::have_cudart && belady::cuda_backend_available())) {
    std::fprintf(stderr, "belady-rollback-bench: --backend cuda needs the CUDA runtime and a usable device\n");
    return 2;
  }
  const belady_bench::memory where = on_device ? belady_bench::memory::device : belady_bench::memory::host;
  belady::cache_config c;
  c.capacity = o.capacity;
  c.dim = 8;
  c.eviction = belady::policy::learned;
  c.executor = o.executor;
  c.online.enabled = true;
  c.online.poll_interval_ms = 5;
  c.online.train_every_samples = std::size_t{1} << 62;  // no training: the watch alone
  c.online.watch_min_requests = 20'000;
  c.online.watch_ms = 60'000;
  belady::cache<std::uint64_t, float> cache(c);

  // Zipf 0.9 over 8 x capacity keys, by inverse transform on a precomputed CDF.
  const std::size_t keys = 8 * o.capacity;
  std::vector<double> cdf(keys);
  double sum = 0;
  for (std::size_t i = 0; i < keys; ++i) cdf[i] = sum += 1.0 / std::pow(double(i + 1), 0.9);
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> served{0};
  std::vector<std::thread> clients;
  for (unsigned t = 0; t < o.clients; ++t)
    clients.emplace_back([&, t] {
      std::mt19937_64 rng(t + 1);
      std::uniform_real_distribution<double> u(0, sum);
      std::vector<std::uint64_t> batch(o.batch), miss;
      std::vector<float> values(o.batch * 8), miss_values;
      std::unique_ptr<bool[]> found(new bool[o.batch]);
      // The cache's copies (--backend cuda); the host vectors above otherwise.
      const std::size_t staged = on_device ? o.batch : 0;
      belady_bench::buffer<std::uint64_t> batch_at(where, staged), miss_at(where, staged);
      belady_bench::buffer<float> values_at(where, staged * 8), miss_values_at(where, staged * 8);
      belady_bench::buffer<bool> found_at(where, staged);
      while (!stop.load(std::memory_order_relaxed)) {
        for (auto& k : batch) k = std::uint64_t(std::lower_bound(cdf.begin(), cdf.end(), u(rng)) - cdf.begin()) + 1;
        if (on_device) {
          batch_at.upload(batch.data(), o.batch);
          (void)cache.find(batch_at.span(), values_at.span(), found_at.span());
          found_at.download(found.get(), o.batch);
        } else {
          (void)cache.find(batch, values, std::span<bool>(found.get(), o.batch));
        }
        miss.clear();
        for (std::size_t i = 0; i < o.batch; ++i)
          if (!found[i]) miss.push_back(batch[i]);
        miss_values.assign(miss.size() * 8, 1.0f);
        if (!miss.empty() && on_device) {
          miss_at.upload(miss.data(), miss.size());
          miss_values_at.upload(miss_values.data(), miss_values.size());
          (void)cache.insert_or_assign(miss_at.span(miss.size()), miss_values_at.span(miss_values.size()));
        } else if (!miss.empty()) {
          (void)cache.insert_or_assign(miss, miss_values);
        }
        served.fetch_add(o.batch, std::memory_order_relaxed);
      }
    });

  belady::model::model_params bad;
  bad.kind = belady::model::model_kind::linear;
  for (int i = 0; i < belady::model::feature_count; ++i) bad.inv_std[i] = 1.0f;
  bad.w[0] = -1.0f;  // inverted recency

  std::printf("belady-rollback-bench: %s backend, %u client threads, batches of %zu, capacity %zu, zipf 0.9\n",
              on_device ? "cuda" : "host", o.clients, o.batch, o.capacity);
  std::printf("%5s %12s %10s %10s %10s %10s\n", "trial", "req/s", "hit before", "hit after", "detect ms", "revert ms");
  std::vector<double> detect, revert, rates;
  std::this_thread::sleep_for(std::chrono::seconds(3));  // warm
  for (unsigned trial = 0; trial < o.trials; ++trial) {
    const auto t0 = std::chrono::steady_clock::now();
    const std::uint64_t s0 = served.load();
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    const double rate = double(served.load() - s0) /
                        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const std::size_t rollbacks_before = cache.online_status().rollbacks;
    (void)cache.models().install(bad);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (cache.online_status().rollbacks == rollbacks_before && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    const auto rep = cache.online_status();
    if (rep.rollbacks == rollbacks_before) {
      std::printf("%5u %12.0f   no rollback within 10 s\n", trial + 1, rate);
      continue;
    }
    const auto& d = *std::find_if(rep.decisions.rbegin(), rep.decisions.rend(), [](const belady::online_decision& x) {
      return x.what == belady::online_decision::kind::rolled_back;
    });
    std::printf("%5u %12.0f %10.4f %10.4f %10.1f %10.1f  %s\n", trial + 1, rate, d.hit_before, d.hit_after,
                d.detect_ms, d.revert_ms, d.reason.c_str());
    detect.push_back(d.detect_ms);
    revert.push_back(d.revert_ms);
    rates.push_back(rate);
    std::this_thread::sleep_for(std::chrono::seconds(2));  // recover
  }
  stop = true;
  for (auto& t : clients) t.join();
  std::printf("median: %.0f req/s, detect %.1f ms, revert %.1f ms (%zu of %u trials rolled back)\n", median(rates),
              median(detect), median(revert), detect.size(), o.trials);
  return detect.size() == o.trials ? 0 : 1;
}
