// Prints a snapshot in the Prometheus text format, for `metrics_dump | promtool check metrics`:
// promtool is the reference parser and linter, so its verdict checks ours.
//   metrics_dump         the hand-made sample snapshot (every field set, labels needing escapes)
//   metrics_dump --live  a real learned cache with online learning after some traffic
#include <belady/belady.hpp>

#include <cstdio>
#include <exception>
#include <random>
#include <string>
#include <vector>

#include "ops/sample_metrics.hpp"

namespace {

belady::metrics_snapshot live_metrics() {
  belady::cache_config c;
  c.capacity = 4096;
  c.dim = 4;
  c.executor = belady::backend::host;
  c.eviction = belady::policy::learned;
  c.online.enabled = true;
  c.online.manual = true;
  c.online.sample_rate = 0.5;
  c.online.train_every_samples = 2000;
  belady::cache<std::uint64_t, float> cache(c);
  std::mt19937_64 rng(1);
  std::vector<std::uint64_t> keys(64);
  std::vector<float> values(64 * 4);
  std::vector<char> found(64);
  for (int b = 0; b < 500; ++b) {
    for (auto& k : keys) k = 1 + rng() % 8000;
    cache.find_or_insert(keys, values, std::span<bool>(reinterpret_cast<bool*>(found.data()), found.size()));
    if (b % 20 == 19) cache.online_step();
  }
  cache.erase(std::span<const std::uint64_t>(keys).first(4));
  return cache.metrics();
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const bool live = argc > 1 && std::string(argv[1]) == "--live";
    const std::string text = live ? belady::to_prometheus(live_metrics())
                                  : belady::to_prometheus(belady::test::sample_metrics(), belady::test::sample_options());
    if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size() || std::fflush(stdout) != 0) return 1;
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "metrics_dump: %s\n", e.what());
    return 1;
  }
}
