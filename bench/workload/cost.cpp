// belady-workload-bench: the cost of one classification: the stream features of a window (the
// bulk) and the classifier on them, for windows of 1,024 to 16,384 sampled accesses.
#include <benchmark/benchmark.h>

#include <random>

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

BENCHMARK(features)->Name("workload/features")->Arg(1024)->Arg(4096)->Arg(16384)->Unit(benchmark::kMicrosecond);
BENCHMARK(classify)->Name("workload/classify_features")->Unit(benchmark::kNanosecond);

}  // namespace

BENCHMARK_MAIN();
