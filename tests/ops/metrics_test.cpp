// Metrics: the latency histogram's accuracy, the per-second windows, and what a real cache reports
// against counts the test knows (lookups, hits, writes, errors, memory, windows), exported through
// the Prometheus parser.
#include <gtest/gtest.h>

#include <belady/belady.hpp>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "ops/metrics_recorder.hpp"
#include "ops/prometheus_parser.hpp"

namespace {

using belady::ops::latency_histogram;
using belady::ops::second_ring;

TEST(LatencyHistogram, BucketsTileTheRangeAndQuantilesAreWithinABucket) {
  for (int i = 0; i + 1 < latency_histogram::bucket_count; ++i) {
    ASSERT_EQ(latency_histogram::upper_bound(i), latency_histogram::lower_bound(i + 1)) << i;
    ASSERT_EQ(latency_histogram::index_of(latency_histogram::lower_bound(i)), i);
    ASSERT_EQ(latency_histogram::index_of(latency_histogram::upper_bound(i) - 1), i);
  }
  latency_histogram h;
  std::vector<std::uint64_t> v;
  std::mt19937_64 rng(3);
  for (int i = 0; i < 100'000; ++i) v.push_back(1000 + rng() % 1'000'000);  // 1 us .. 1 ms
  for (auto x : v) h.record(x);
  std::sort(v.begin(), v.end());
  const auto s = h.summarize();
  EXPECT_EQ(s.count, v.size());
  EXPECT_DOUBLE_EQ(s.max_us, static_cast<double>(v.back()) / 1e3);
  auto exact = [&](double q) { return static_cast<double>(v[static_cast<std::size_t>(q * (v.size() - 1))]) / 1e3; };
  EXPECT_NEAR(s.p50_us, exact(0.50), exact(0.50) / 16);
  EXPECT_NEAR(s.p95_us, exact(0.95), exact(0.95) / 16);
  EXPECT_NEAR(s.p99_us, exact(0.99), exact(0.99) / 16);
  ASSERT_FALSE(s.buckets.empty());
  EXPECT_TRUE(std::isinf(s.buckets.back().first));
  EXPECT_EQ(s.buckets.back().second, v.size());
  for (std::size_t i = 1; i < s.buckets.size(); ++i) EXPECT_GE(s.buckets[i].second, s.buckets[i - 1].second);
  // Conservative bounds: no call counted under a bound it may exceed.
  for (const auto& [bound_us, count] : s.buckets) {
    if (std::isinf(bound_us)) continue;
    const auto at_most = std::upper_bound(v.begin(), v.end(), static_cast<std::uint64_t>(bound_us * 1e3)) - v.begin();
    EXPECT_LE(count, static_cast<std::uint64_t>(at_most)) << bound_us;
  }
}

TEST(SecondRing, WindowsSumTheirSecondsAndForgetOlderOnes) {
  second_ring r;
  for (std::int64_t s = 0; s < 200; ++s) r.add(s, {10, 5, 1, 100});
  EXPECT_EQ(r.sum(199, 1).lookups, 10u);
  EXPECT_EQ(r.sum(199, 10).calls, 10u);
  EXPECT_EQ(r.sum(199, 60).keys, 6000u);
  EXPECT_EQ(r.sum(260, 60).calls, 0u) << "all older than the window";
  r.add(100, {1, 1, 1, 1});  // too old to count: its slot holds second 164
  EXPECT_EQ(r.sum(199, 60).calls, 60u);
}

using cache_t = belady::cache<std::uint64_t, float>;

belady::cache_config config(bool metrics = true) {
  belady::cache_config c;
  c.capacity = 1024;
  c.dim = 8;
  c.bucket_size = 16;
  c.executor = belady::backend::host;
  c.host_threads = 2;
  c.ops.metrics = metrics;
  return c;
}

std::span<bool> flags(std::vector<char>& v) { return {reinterpret_cast<bool*>(v.data()), v.size()}; }

TEST(CacheMetrics, CountsMatchWhatTheCallsReturned) {
  cache_t c(config());
  std::vector<std::uint64_t> keys(3000);
  for (std::size_t i = 0; i < keys.size(); ++i) keys[i] = i + 1;
  std::vector<float> values(keys.size() * 8, 1.0f);
  const auto ins = c.insert_or_assign(keys, values);  // 3000 keys into 1024 slots: evictions
  std::vector<char> found(keys.size());
  const std::size_t hits = c.find(keys, values, flags(found));
  std::vector<std::uint64_t> some(keys.begin(), keys.begin() + 100);
  std::vector<float> some_values(100 * 8, 2.0f);
  std::vector<char> some_found(100);
  const std::size_t hits2 = c.find_or_insert(some, some_values, flags(some_found));
  const std::size_t erased = c.erase(std::span<const std::uint64_t>(some).first(10));
  EXPECT_THROW(c.find(keys, std::span<float>(values).first(7), flags(found)), belady::invalid_argument);

  const belady::metrics_snapshot m = c.metrics();
  EXPECT_EQ(m.backend, "host");
  EXPECT_EQ(m.policy, "lru");
  EXPECT_EQ(m.capacity, c.capacity());
  EXPECT_EQ(m.lookups, 3100u);
  EXPECT_EQ(m.hits, hits + hits2);
  EXPECT_DOUBLE_EQ(m.hit_ratio, static_cast<double>(hits + hits2) / 3100.0);
  EXPECT_EQ(m.inserted, ins.inserted);
  EXPECT_EQ(m.evicted, ins.evicted);
  EXPECT_GT(m.evicted, 1000u);
  EXPECT_EQ(m.erased, erased);
  EXPECT_EQ(m.size, c.size());
  EXPECT_DOUBLE_EQ(m.load_factor, c.load_factor());
  EXPECT_EQ(m.clock, c.now());
  ASSERT_EQ(m.operations.size(), static_cast<std::size_t>(belady::operation_count));
  const auto& find = m.operations[static_cast<int>(belady::operation::find)];
  EXPECT_EQ(find.calls, 1u);
  EXPECT_EQ(find.keys, 3000u);
  EXPECT_EQ(find.errors, 1u) << "the call with a short values span";
  EXPECT_EQ(find.latency.count, 1u);
  EXPECT_GT(find.latency.max_us, 0.0);
  EXPECT_EQ(m.operations[static_cast<int>(belady::operation::erase)].calls, 1u);
  ASSERT_EQ(m.windows.size(), 3u);
  EXPECT_EQ(m.windows[2].lookups, 3100u) << "everything happened within the last 60 s";
  EXPECT_EQ(m.windows[2].calls, 4u);
  EXPECT_GT(m.windows[0].keys_per_second, 0.0);
  EXPECT_GE(m.host_bytes, c.capacity() * 8 * sizeof(float));
  EXPECT_EQ(m.device_bytes, 0u);
  EXPECT_GT(m.process_resident_bytes, 0u);
  EXPECT_EQ(m.trainer_state, "off");
  EXPECT_EQ(m.prediction_accuracy, -1);

  // The export parses and says the same.
  const auto parsed = belady::test::parse_prometheus(belady::to_prometheus(m));
  EXPECT_DOUBLE_EQ(parsed.value("belady_hits_total"), static_cast<double>(m.hits));
  EXPECT_DOUBLE_EQ(parsed.value("belady_lookups_total"), 3100.0);
}

TEST(CacheMetrics, OffRecordsNothing) {
  cache_t c(config(false));
  std::vector<std::uint64_t> keys{1, 2, 3};
  std::vector<float> values(24, 1.0f);
  c.insert_or_assign(keys, values);
  const auto m = c.metrics();
  EXPECT_EQ(m.operations[static_cast<int>(belady::operation::insert_or_assign)].calls, 0u);
  EXPECT_EQ(m.size, 3u) << "figures read from the table are still there";
}

TEST(CacheMetrics, OnlineLearningFiguresAppear) {
  belady::cache_config c = config();
  c.capacity = 4096;
  c.eviction = belady::policy::learned;
  c.online.enabled = true;
  c.online.manual = true;
  c.online.sample_rate = 0.5;
  c.online.train_every_samples = 2000;
  cache_t cache(c);
  std::mt19937_64 rng(1);
  std::vector<std::uint64_t> key(1);
  std::vector<float> value(8);
  std::vector<char> found(1);
  for (int i = 0; i < 60'000; ++i) {
    key[0] = 1 + rng() % 10'000;
    cache.find_or_insert(key, value, flags(found));
    if (i % 1000 == 999) cache.online_step();
  }
  const auto m = cache.metrics();
  EXPECT_TRUE(m.online);
  EXPECT_NE(m.trainer_state, "off");
  EXPECT_GT(m.sampled_events, 10'000u);
  EXPECT_GE(m.active_model_version, 1u);
  EXPECT_GE(m.models_kept, 1u);
  EXPECT_GT(m.prediction_accuracy, 0.0) << "measured in the training rounds";
  EXPECT_LE(m.prediction_accuracy, 1.0);
  EXPECT_GT(m.trainer_busy_seconds, 0.0);
}

}  // namespace
