// belady-workload-bench: the cost of one classification: the stream features of a window (the
// bulk) and the classifier on them, for windows of 1,024 to 16,384 sampled accesses; and the
// cost of acting on it: switching the active model to a class's model while clients read the
// cache (p50 / p99 per switch), and building and installing a confidence-weighted ensemble.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <atomic>
#include <belady/belady.hpp>
#include <belady/model/ensemble.hpp>
#include <belady/model/registry.hpp>
#include <chrono>
#include <random>
#include <thread>
#include <vector>

#include "windows.hpp"

namespace {

void features(benchmark::State& state) {
  std::mt19937_64 rng(1);
  const auto w = belady::workload_lab::make_window(belady::workload::workload_class::mixed,
                                                   static_cast<std::size_t>(state.range(0)), rng);
  for (auto _ : state) benchmark::DoNotOptimize(belady::workload::compute_stream_features(w.keys));
}

void classify(benchmark::State& state) {
  std::mt19937_64 rng(1);
  const auto w = belady::workload_lab::make_window(belady::workload::workload_class::zipfian, 4096, rng);
  const auto f = belady::workload::compute_stream_features(w.keys);
  const belady::workload::workload_classifier c;
  for (auto _ : state) benchmark::DoNotOptimize(c.classify(f));
}

/// Five class models (MLPs of 8 units) in a learned cache's registry, pinned as specialisation
/// pins them, plus shadows up to the history limit.
std::vector<std::uint64_t> install_class_models(belady::model::model_registry& r) {
  std::mt19937 rng(3);
  std::normal_distribution<float> n(0.0f, 0.3f);
  std::vector<std::uint64_t> versions;
  for (int k = 0; k < 16; ++k) {
    belady::model::model_params p;
    p.kind = belady::model::model_kind::mlp;
    p.hidden = 8;
    for (int i = 0; i < belady::model::feature_count; ++i) p.inv_std[i] = 1.0f;
    for (std::uint32_t h = 0; h < p.hidden; ++h) {
      for (float& w : p.w1[h]) w = n(rng);
      p.w2[h] = n(rng);
    }
    const auto v = r.install(p, {}, k == 0);
    if (k < 5) {
      r.pin(v);
      versions.push_back(v);
    }
  }
  return versions;
}

/// The switch itself: model_registry::activate of another class's model, timed one by one while
/// `readers` threads serve batches of 256 finds from the cache (each batch loads the active
/// model once, as the request path does).
void switch_model(benchmark::State& state) {
  belady::cache_config config;
  config.capacity = 1 << 16;
  config.dim = 8;
  config.eviction = belady::policy::learned;
  config.executor = belady::backend::host;
  config.host_threads = 1;
  belady::cache<std::uint64_t, float> cache(config);
  const auto versions = install_class_models(cache.models());
  std::atomic<bool> stop{false};
  std::vector<std::thread> readers;
  for (int t = 0; t < state.range(0); ++t)
    readers.emplace_back([&, t] {
      std::vector<std::uint64_t> keys(256);
      std::vector<float> values(keys.size() * config.dim);
      std::unique_ptr<bool[]> found(new bool[keys.size()]);
      std::uint64_t next = std::uint64_t(t) << 40;
      while (!stop.load(std::memory_order_relaxed)) {
        for (auto& k : keys) k = next++ % 100'000;
        (void)cache.find(keys, values, std::span<bool>(found.get(), keys.size()));
      }
    });
  std::vector<double> us;
  std::size_t i = 0;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    cache.models().activate(versions[++i % versions.size()]);
    us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
  }
  stop = true;
  for (auto& r : readers) r.join();
  std::sort(us.begin(), us.end());
  state.counters["p50_us"] = us[us.size() / 2];
  state.counters["p99_us"] = us[std::min(us.size() - 1, us.size() * 99 / 100)];
  state.counters["max_us"] = us.back();
}

/// Ensemble mode's rebuild: weighted_ensemble of four class models (MLPs of 8 units) and its
/// install-and-activate in a registry with a host-copy uploader.
void ensemble_rebuild(benchmark::State& state) {
  belady::model::model_registry r({.history_limit = 16, .uploader = [](const belady::model::model_params& p) {
                                     return std::shared_ptr<const void>(std::make_shared<belady::model::model_params>(p));
                                   }});
  const auto versions = install_class_models(r);
  std::vector<std::shared_ptr<const belady::model::installed_model>> models;
  std::vector<const belady::model::model_params*> params;
  for (int k = 0; k < 4; ++k) {
    models.push_back(r.find(versions[k]));
    params.push_back(&models.back()->params);
  }
  const std::vector<double> weights{0.55, 0.25, 0.15, 0.05};
  for (auto _ : state) {
    const auto e = belady::model::weighted_ensemble(params, weights);
    benchmark::DoNotOptimize(r.install(e, {}, true));
  }
}

BENCHMARK(features)->Name("workload/features")->Arg(1024)->Arg(4096)->Arg(16384)->Unit(benchmark::kMicrosecond);
BENCHMARK(classify)->Name("workload/classify_features")->Unit(benchmark::kNanosecond);
BENCHMARK(switch_model)->Name("workload/switch_model/readers")->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(ensemble_rebuild)->Name("workload/ensemble_rebuild")->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
