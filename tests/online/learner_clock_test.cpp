// The learner when the stream's clock moves back (cache::set_clock backwards, or a snapshot
// load, which restores another clock): what it had timed by the old clock must not be mixed
// with the new times.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

#include "belady/model/registry.hpp"
#include "online/learner.hpp"

namespace {

/// n sampled requests, one per tick from `first`, over 3 x capacity zipf-like keys: enough
/// misses for the training simulation to evict and log candidates.
void feed(belady::online::learner& l, std::uint64_t first, std::size_t n, std::uint64_t capacity, std::uint32_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<belady::online::request_event> events;
  for (std::size_t i = 0; i < n; ++i) {
    const double u = std::uniform_real_distribution<double>(0, 1)(rng);
    const auto key = static_cast<std::uint64_t>(1 + 3.0 * double(capacity) * u * u);
    events.push_back({key, first + i, false, false});
    if (events.size() == 256) {
      l.observe(events);
      events.clear();
    }
  }
  l.observe(events);
}

belady::online::learner make(belady::model::model_registry& registry, std::uint64_t capacity) {
  belady::online_config config;
  config.enabled = true;
  config.manual = true;
  config.sample_rate = 1.0;  // every request is sampled: the miniature is the cache
  belady::online::cache_shape shape;
  shape.capacity = capacity;
  shape.bucket_size = 16;
  shape.candidates = 16;
  shape.decay_half_life = double(capacity);
  return belady::online::learner(config, shape, registry);
}

}  // namespace

TEST(Learner, ClockMovedBackPastTheHorizonStartsTheStreamAfresh) {
  constexpr std::uint64_t capacity = 1024;
  belady::model::model_registry registry;
  belady::online::learner l = make(registry, capacity);
  feed(l, 1'000'000, 8000, capacity, 1);
  const double horizon = l.horizon_ticks();
  const std::size_t pending = l.pending_candidates();
  ASSERT_GT(pending, 0u);
  // One tick per sampled request at rate 1: the horizon is horizon_capacities x capacity ticks.
  EXPECT_NEAR(horizon, 16.0 * capacity, 0.01 * 16.0 * capacity);

  feed(l, 1, 8000, capacity, 2);  // the clock went back by a million ticks
  // Before: the window spanned both clocks, its span wrapped around (a horizon of about 2^64
  // ticks and labels of 64), and the old candidates, "decided" a million ticks in the future,
  // were never labelled or retired while new ones piled up behind them.
  EXPECT_NEAR(l.horizon_ticks(), horizon, 0.01 * horizon);
  EXPECT_LT(l.pending_candidates(), pending + pending / 2);
}

TEST(Learner, SmallStepsBackOfInterleavedDrainsKeepTheStream) {
  constexpr std::uint64_t capacity = 1024;
  belady::model::model_registry registry;
  belady::online::learner l = make(registry, capacity);
  feed(l, 1'000'000, 8000, capacity, 1);
  const std::size_t pending = l.pending_candidates();
  // A batch that took its tick before the previous drain's batches: a few ticks back, well
  // within the horizon. The stream goes on (its pending candidates stay).
  feed(l, 1'000'000 + 8000 - 100, 50, capacity, 3);
  EXPECT_GE(l.pending_candidates(), pending / 2);
  EXPECT_NEAR(l.horizon_ticks(), 16.0 * capacity, 0.05 * 16.0 * capacity);
}
