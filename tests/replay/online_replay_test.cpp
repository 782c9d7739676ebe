// belady-replay --online's engine: learning during a replay is reproducible from its seed, and it
// actually learns (rounds, decisions) on a workload it can win.
#include <gtest/gtest.h>

#include "cache_engine.hpp"
#include "common/synthetic.hpp"

using belady::replay::cache_engine_options;
using belady::replay::replay_cache;
using belady::replay::request;

namespace {

std::vector<request> loop_then_zipf() {
  using belady::workload::pattern;
  // A loop a little larger than the cache (where recency is worst), then popular keys.
  const auto keys = belady::workload::generate(
      {{pattern::loop, 60'000, 3'000, 1'000'000, 0}, {pattern::zipf, 40'000, 20'000, 0, 0.9}}, 5);
  std::vector<request> trace(keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i) trace[i].key = keys[i];
  return trace;
}

cache_engine_options online_options(std::uint64_t seed) {
  cache_engine_options o;
  o.capacity = 2'048;
  o.bucket_size = 128;
  o.eviction = belady::policy::learned;
  o.online = true;
  o.online_config.sample_rate = 1.0;
  o.online_config.train_every_samples = 5'000;
  o.online_config.seed = seed;
  return o;
}

}  // namespace

TEST(OnlineReplay, SameSeedSameRun) {
  const auto trace = loop_then_zipf();
  const auto a = replay_cache(trace, online_options(1));
  const auto b = replay_cache(trace, online_options(1));
  EXPECT_EQ(a.misses, b.misses);
  EXPECT_EQ(a.online.active_version, b.online.active_version);
  ASSERT_EQ(a.online.decisions.size(), b.online.decisions.size());
  for (std::size_t i = 0; i < a.online.decisions.size(); ++i) {
    EXPECT_EQ(a.online.decisions[i].what, b.online.decisions[i].what) << i;
    EXPECT_EQ(a.online.decisions[i].tick, b.online.decisions[i].tick) << i;
    EXPECT_EQ(a.online.decisions[i].p_value, b.online.decisions[i].p_value) << i;
  }
  EXPECT_GE(a.online.training_rounds, 5u);  // 100,000 requests, a round due every 5,000
  EXPECT_GE(a.online.promotions, 1u);
}

TEST(OnlineReplay, LearnsToBeatTheRecencyBaselineOnALoop) {
  const auto trace = loop_then_zipf();
  cache_engine_options lru = online_options(1);
  lru.online = false;
  lru.eviction = belady::policy::lru;
  const auto base = replay_cache(trace, lru);
  const auto learned = replay_cache(trace, online_options(1));
  EXPECT_LT(learned.misses, base.misses) << "learned " << learned.misses << " lru " << base.misses;
}
