// Model swaps while several threads serve requests: no failed operation, no torn value, no
// duplicate key, and every batch sees a whole model. Runs under ASan and TSan in CI.
#include <gtest/gtest.h>

#include <atomic>
#include <belady/belady.hpp>
#include <belady/model/registry.hpp>
#include <cstdlib>
#include <memory>
#include <random>
#include <set>
#include <thread>
#include <vector>

namespace {

double scale() {
  const char* s = std::getenv("BELADY_TEST_SCALE");
  return s ? std::max(0.01, std::atof(s)) : 1.0;
}

belady::model::model_params model_with(float w) {
  belady::model::model_params p;
  p.kind = belady::model::model_kind::linear;
  for (int i = 0; i < belady::model::feature_count; ++i) p.inv_std[i] = 1.0f;
  p.w[0] = w;
  p.w[3] = -w / 2;
  return p;
}

}  // namespace

TEST(LearnedSwap, ThousandSwapsUnderConcurrentLoad) {
  constexpr std::size_t dim = 4;
  belady::cache<std::uint64_t, float> cache({.capacity = 2048,
                                             .dim = dim,
                                             .bucket_size = 32,
                                             .eviction = belady::policy::learned,
                                             .executor = belady::backend::host,
                                             .host_threads = 2,
                                             .learned_candidates = 8});
  auto& models = cache.models();
  models.install(model_with(1.0f));
  const int swaps = std::max(50, static_cast<int>(1000 * scale()));
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> operations{0}, failures{0}, torn{0};

  auto worker = [&](std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    constexpr std::size_t n = 64;
    std::vector<std::uint64_t> keys(n);
    std::vector<float> values(n * dim), out(n * dim);
    std::unique_ptr<bool[]> found(new bool[n]);
    while (!stop.load(std::memory_order_relaxed)) {
      for (std::size_t i = 0; i < n; ++i) {
        keys[i] = rng() % 8192;
        for (std::size_t d = 0; d < dim; ++d) values[i * dim + d] = static_cast<float>(keys[i]);
      }
      try {
        if (rng() % 2) {
          cache.insert_or_assign(keys, values);
        } else {
          cache.find(keys, out, std::span<bool>(found.get(), n));
          for (std::size_t i = 0; i < n; ++i)
            if (found[i])
              for (std::size_t d = 0; d < dim; ++d)
                if (out[i * dim + d] != static_cast<float>(keys[i])) torn.fetch_add(1);
        }
        operations.fetch_add(1, std::memory_order_relaxed);
      } catch (...) {
        failures.fetch_add(1);
      }
    }
  };
  std::vector<std::thread> threads;
  for (std::uint64_t t = 0; t < 3; ++t) threads.emplace_back(worker, t + 1);

  std::mt19937_64 rng(99);
  for (int s = 0; s < swaps; ++s) {
    // Interleave: let the workers complete at least one batch between swaps.
    const std::uint64_t seen = operations.load();
    while (operations.load() == seen && failures.load() == 0) std::this_thread::yield();
    switch (rng() % 3) {
      case 0: models.install(model_with(1.0f + float(s % 7))); break;
      case 1: {
        const auto v = models.install(model_with(-1.0f), {}, false);  // shadow, then activate
        models.activate(v);
        break;
      }
      default:
        try {
          models.rollback("test");
        } catch (const belady::invalid_argument&) {
          // nothing to roll back to: fine
        }
    }
  }
  stop = true;
  for (auto& t : threads) t.join();

  EXPECT_EQ(failures.load(), 0u);
  EXPECT_EQ(torn.load(), 0u);
  EXPECT_GE(operations.load(), static_cast<std::uint64_t>(swaps));
  EXPECT_GE(models.history().size(), 10u);

  std::vector<std::uint64_t> keys(cache.capacity());
  std::vector<float> values(cache.capacity() * dim);
  const std::size_t n = cache.export_batch(0, cache.capacity(), keys, values);
  EXPECT_EQ(n, cache.size());
  std::set<std::uint64_t> unique(keys.begin(), keys.begin() + n);
  EXPECT_EQ(unique.size(), n);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t d = 0; d < dim; ++d) ASSERT_EQ(values[i * dim + d], static_cast<float>(keys[i]));
}
