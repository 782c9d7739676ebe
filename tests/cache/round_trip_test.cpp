// Round trips through the public API: export what was inserted, clear, erase and re-insert,
// size and load factor, capacity rounding, empty batches, move.
#include <gtest/gtest.h>

#include <numeric>

#include "support/cache_harness.hpp"

namespace {

using belady::backend;
using belady::policy;
using belady_test::entry;
using belady_test::harness;
using h64 = harness<std::uint64_t, float>;

class RoundTrip : public ::testing::TestWithParam<backend> {
 protected:
  void SetUp() override { BELADY_SKIP_UNLESS_USABLE(GetParam()); }
  belady::cache_config config(std::size_t capacity = 4096, std::uint32_t bucket = 32) const {
    return {.capacity = capacity, .dim = 4, .bucket_size = bucket, .eviction = policy::lru, .executor = GetParam()};
  }
};

std::vector<std::uint64_t> ids_of(const std::vector<std::uint64_t>& keys, std::uint64_t salt) {
  std::vector<std::uint64_t> ids(keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i) ids[i] = keys[i] * 7 + salt;
  return ids;
}

TEST_P(RoundTrip, ExportOfEverythingEqualsTheInsertedSet) {
  h64 h(config());
  const auto keys = belady_test::keys_that_fit<std::uint64_t>(1000, h.c.bucket_count(), 32, 0, 3);
  std::vector<entry> want;
  for (std::size_t b = 0; b < 10; ++b) {  // batches of 100 at t = 1..10
    const std::vector<std::uint64_t> part(keys.begin() + b * 100, keys.begin() + (b + 1) * 100);
    const auto r = h.insert(part, ids_of(part, 1));
    ASSERT_EQ(r.inserted, 100u);
    ASSERT_EQ(r.evicted + r.refused + r.assigned, 0u);
    for (auto k : part) want.push_back(h.expected(k, k * 7 + 1, b + 1));
  }
  want = belady_test::sorted(want);
  EXPECT_EQ(h.c.size(), 1000u);
  EXPECT_EQ(h.all(), want);
  for (const std::size_t chunk :
       {std::size_t{1}, std::size_t{7}, std::size_t{32}, std::size_t{1000}, h.c.capacity() + 5})
    EXPECT_EQ(belady_test::export_all(h.c, chunk), want) << "exported in chunks of " << chunk;
  // Exporting is not an access: a second export is identical.
  EXPECT_EQ(h.all(), want);
}

TEST_P(RoundTrip, ExportOffsetsAtAndPastTheEnd) {
  h64 h(config(64, 8));
  h.insert({1, 2, 3}, {1, 2, 3});
  belady_test::buffer<std::uint64_t> k(8);
  belady_test::buffer<float> v(8 * 4);
  EXPECT_EQ(h.c.export_batch(h.c.capacity(), 8, k, v), 0u);
  EXPECT_EQ(h.c.export_batch(0, 0, k, v), 0u);
  EXPECT_THROW((void)h.c.export_batch(h.c.capacity() + 1, 8, k, v), belady::invalid_argument);
  // A count past the end is clamped, so buffers need only hold what remains.
  belady_test::buffer<std::uint64_t> k1(1);
  belady_test::buffer<float> v1(4);
  EXPECT_NO_THROW((void)h.c.export_batch(h.c.capacity() - 1, 1000, k1, v1));
}

TEST_P(RoundTrip, ClearEmptiesTheTableAndInsertsWorkAfterwards) {
  h64 h(config());
  const auto keys = belady_test::keys_that_fit<std::uint64_t>(500, h.c.bucket_count(), 32, 10);
  ASSERT_EQ(h.insert(keys, ids_of(keys, 2)).inserted, 500u);
  h.c.clear();
  EXPECT_EQ(h.c.size(), 0u);
  EXPECT_EQ(h.c.load_factor(), 0.0);
  EXPECT_TRUE(h.all().empty());
  const auto f = h.find(keys);
  EXPECT_EQ(f.hits, 0u);
  EXPECT_EQ(std::count(f.found.begin(), f.found.end(), true), 0);
  const auto r = h.insert(keys, ids_of(keys, 3));
  EXPECT_EQ(r.inserted, 500u);
  EXPECT_EQ(r.assigned, 0u);
  EXPECT_EQ(h.c.size(), 500u);
  EXPECT_EQ(h.find(keys).rows[17], h.value(keys[17] * 7 + 3));
  h.c.clear_async();
  h.c.synchronize();
  EXPECT_EQ(h.c.size(), 0u);
}

TEST_P(RoundTrip, EraseReturnsExactCountsAndErasedKeysCanReturn) {
  h64 h(config());
  const auto keys = belady_test::keys_that_fit<std::uint64_t>(600, h.c.bucket_count(), 32, 5);
  ASSERT_EQ(h.insert(keys, ids_of(keys, 4)).inserted, 600u);
  std::vector<std::uint64_t> gone(keys.begin(), keys.begin() + 250);
  std::vector<std::uint64_t> erase_batch = gone;
  for (std::uint64_t k = 1'000'000; k < 1'000'050; ++k) erase_batch.push_back(k);  // absent
  EXPECT_EQ(h.erase(erase_batch), 250u);
  EXPECT_EQ(h.erase(gone), 0u);  // already gone
  EXPECT_EQ(h.c.size(), 350u);
  auto f = h.find(keys);
  EXPECT_EQ(f.hits, 350u);
  for (std::size_t i = 0; i < keys.size(); ++i) ASSERT_EQ(f.found[i], i >= 250) << "key " << keys[i];
  const auto r = h.insert(gone, ids_of(gone, 5));
  EXPECT_EQ(r.inserted, 250u);
  EXPECT_EQ(r.evicted, 0u);
  EXPECT_EQ(h.c.size(), 600u);
  f = h.find(keys);
  EXPECT_EQ(f.hits, 600u);
  EXPECT_EQ(f.rows[0], h.value(keys[0] * 7 + 5));
  EXPECT_EQ(f.rows[599], h.value(keys[599] * 7 + 4));
  h.c.erase_async(std::span<const std::uint64_t>(gone.data(), 0));  // an empty batch is fine
}

TEST_P(RoundTrip, CapacityRoundsUpToWholeBucketsAndLoadFactorIsExact) {
  h64 h(config(100, 8));
  EXPECT_EQ(h.c.capacity(), 104u);
  EXPECT_EQ(h.c.bucket_count(), 13u);
  EXPECT_EQ(h.c.config().capacity, 104u);
  EXPECT_EQ(h.c.config().bucket_size, 8u);
  EXPECT_EQ(h.c.dim(), 4u);
  EXPECT_EQ(h.c.executor(), GetParam());
  EXPECT_EQ(h.c.load_factor(), 0.0);
  const auto keys = belady_test::keys_that_fit<std::uint64_t>(26, 13, 8);
  ASSERT_EQ(h.insert(keys, ids_of(keys, 0)).inserted, 26u);
  EXPECT_EQ(h.c.size(), 26u);
  EXPECT_DOUBLE_EQ(h.c.load_factor(), 26.0 / 104.0);
  // Filling every slot of a bucket-exact key set reaches 1.
  h64 full(config(64, 8));
  const auto all = belady_test::keys_that_fit<std::uint64_t>(64, 8, 8);
  ASSERT_EQ(full.insert(all, ids_of(all, 0)).inserted, 64u);
  EXPECT_EQ(full.c.load_factor(), 1.0);
}

TEST_P(RoundTrip, BucketSizeOneAndMaximum) {
  for (const std::uint32_t bucket : {1u, 1024u}) {
    SCOPED_TRACE(bucket);
    h64 h(config(2048, bucket));
    EXPECT_EQ(h.c.capacity(), 2048u);
    const auto keys = belady_test::keys_that_fit<std::uint64_t>(bucket == 1 ? 300 : 2048, h.c.bucket_count(), bucket);
    ASSERT_EQ(h.insert(keys, ids_of(keys, 9)).inserted, keys.size());
    EXPECT_EQ(h.c.size(), keys.size());
    EXPECT_EQ(h.find(keys).hits, keys.size());
  }
}

TEST_P(RoundTrip, EmptyBatchesDoNothingAndDoNotAdvanceTheClock) {
  h64 h(config());
  h.insert({1}, {1});  // t1
  const std::vector<std::uint64_t> none;
  EXPECT_EQ(h.find(none).hits, 0u);
  std::size_t hits = 7;
  EXPECT_TRUE(h.contains(none, &hits).empty());
  EXPECT_EQ(hits, 0u);
  EXPECT_EQ(h.insert(none, {}).inserted, 0u);
  EXPECT_EQ(h.insert_and_evict(none, {}).result.handed_back(), 0u);
  EXPECT_EQ(h.find_or_insert(none, {}).hits, 0u);
  EXPECT_EQ(h.assign(none, {}), 0u);
  EXPECT_EQ(h.erase(none), 0u);
  (void)h.c.size();
  (void)h.all();
  h.c.clear();         // clear, size and export do not tick either
  h.insert({2}, {2});  // t2
  EXPECT_EQ(h.all(), std::vector<entry>{h.expected(2, 2, 2)});
}

TEST_P(RoundTrip, FindScoresEqualExportedScores) {
  h64 h(config());
  h.insert({1, 2, 3}, {1, 2, 3});  // t1
  const auto f = h.find({3, 1});   // t2
  EXPECT_EQ(f.scores, (std::vector<std::uint64_t>{2, 2}));
  EXPECT_EQ(h.all(), (std::vector<entry>{h.expected(1, 1, 2), h.expected(2, 2, 1), h.expected(3, 3, 2)}));
}

TEST_P(RoundTrip, MovedCacheKeepsItsContents) {
  h64 h(config());
  h.insert({1, 2}, {1, 2});
  belady::cache<std::uint64_t, float> moved(std::move(h.c));
  EXPECT_EQ(moved.size(), 2u);
  belady::cache<std::uint64_t, float> other(config(64, 8));
  other = std::move(moved);
  EXPECT_EQ(other.size(), 2u);
  EXPECT_EQ(other.capacity(), 4096u);
  EXPECT_EQ(belady_test::export_all(other).size(), 2u);
}

INSTANTIATE_TEST_SUITE_P(Cache, RoundTrip, ::testing::ValuesIn(belady_test::all_backends()),
                         belady_test::backend_param_name);

TEST(RoundTripConfig, AutomaticBackendResolves) {
  belady::cache<std::uint64_t, float> c({.capacity = 64, .dim = 1});
  EXPECT_EQ(c.executor(), belady::cuda_backend_available() ? backend::cuda : backend::host);
  EXPECT_EQ(c.config().executor, c.executor());
}

TEST(RoundTripConfig, CudaAvailabilityIsConsistent) {
  if (!belady::cuda_backend_built()) {
    EXPECT_FALSE(belady::cuda_backend_available());
  }
  EXPECT_FALSE(belady::cuda_backend_available(1 << 20));  // no such device
}

}  // namespace
