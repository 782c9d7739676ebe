// belady-metrics-bench: what recording metrics costs per call, on small batches where a fixed
// per-call cost shows (belady-bench's 1M-key batches cannot resolve it). Each line runs the same
// synchronous find on a host cache with cache_config::ops.metrics on and off; compare the two
// medians of one run.
//
//   belady-metrics-bench --benchmark_repetitions=9 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <belady/belady.hpp>

#include <vector>

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

BENCHMARK(metrics_on)->Name("ops/find/metrics:on")->Arg(1)->Arg(16)->Arg(256)->Arg(4096);
BENCHMARK(metrics_off)->Name("ops/find/metrics:off")->Arg(1)->Arg(16)->Arg(256)->Arg(4096);

}  // namespace

BENCHMARK_MAIN();
