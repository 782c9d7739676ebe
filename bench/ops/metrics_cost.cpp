// belady-metrics-bench: the costs of operations features. ops/find/metrics:on|off: what
// recording metrics costs per call, on small batches where a fixed per-call cost shows
// (belady-bench's 1M-key batches cannot resolve it): the same synchronous find on a host cache
// with cache_config::ops.metrics on and off; compare the two medians of one run.
// ops/snapshot/save|load: a full table of 2^20 slots x dim 32 floats saved to and loaded from
// the temporary folder (fsync included).
//
//   belady-metrics-bench --benchmark_repetitions=9 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <belady/belady.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include <unistd.h>

namespace {

void find_batch(benchmark::State& state, bool metrics) {
  const auto batch = static_cast<std::size_t>(state.range(0));
  belady::cache_config c;
  c.capacity = 1 << 16;
  c.dim = 8;
  c.executor = belady::backend::host;
  c.host_threads = 1;  // the caller's thread does the work: no hand-off cost hides the metrics
  c.ops.metrics = metrics;
  belady::cache<std::uint64_t, float> cache(c);
  std::vector<std::uint64_t> keys(batch);
  std::vector<float> values(batch * c.dim);
  std::vector<char> found(batch);
  for (std::size_t i = 0; i < batch; ++i) keys[i] = i + 1;
  cache.insert_or_assign(keys, values);
  const std::span<bool> flags(reinterpret_cast<bool*>(found.data()), found.size());
  for (auto _ : state) benchmark::DoNotOptimize(cache.find(keys, values, flags));
  state.counters["keys/s"] = benchmark::Counter(double(batch) * double(state.iterations()), benchmark::Counter::kIsRate);
}

void metrics_on(benchmark::State& s) { find_batch(s, true); }
void metrics_off(benchmark::State& s) { find_batch(s, false); }

belady::cache<std::uint64_t, float> full_table() {
  belady::cache_config c;
  c.capacity = 1 << 20;
  c.dim = 32;
  c.executor = belady::backend::host;
  belady::cache<std::uint64_t, float> cache(c);
  std::vector<std::uint64_t> keys(1 << 16);
  std::vector<float> values(keys.size() * c.dim, 1.0f);
  for (std::uint64_t first = 1; cache.load_factor() < 0.9; first += keys.size()) {
    for (std::size_t i = 0; i < keys.size(); ++i) keys[i] = first + i;
    cache.insert_or_assign(keys, values);
  }
  return cache;
}

std::filesystem::path snapshot_path() {
  return std::filesystem::temp_directory_path() / ("belady-metrics-bench-" + std::to_string(::getpid()) + ".snap");
}

void snapshot_save(benchmark::State& state) {
  auto cache = full_table();
  for (auto _ : state) cache.save_snapshot(snapshot_path());
  state.counters["bytes/s"] = benchmark::Counter(double(std::filesystem::file_size(snapshot_path())) * double(state.iterations()),
                                                 benchmark::Counter::kIsRate);
  state.counters["entries"] = double(cache.size());
  std::filesystem::remove(snapshot_path());
}

void snapshot_load(benchmark::State& state) {
  auto cache = full_table();
  cache.save_snapshot(snapshot_path());
  for (auto _ : state) cache.load_snapshot(snapshot_path());
  state.counters["bytes/s"] = benchmark::Counter(double(std::filesystem::file_size(snapshot_path())) * double(state.iterations()),
                                                 benchmark::Counter::kIsRate);
  std::filesystem::remove(snapshot_path());
}

BENCHMARK(snapshot_save)->Name("ops/snapshot/save")->Unit(benchmark::kMillisecond)->Iterations(3)->UseRealTime();
BENCHMARK(snapshot_load)->Name("ops/snapshot/load")->Unit(benchmark::kMillisecond)->Iterations(3)->UseRealTime();
BENCHMARK(metrics_on)->Name("ops/find/metrics:on")->Arg(1)->Arg(16)->Arg(256)->Arg(4096);
BENCHMARK(metrics_off)->Name("ops/find/metrics:off")->Arg(1)->Arg(16)->Arg(256)->Arg(4096);

}  // namespace

BENCHMARK_MAIN();
