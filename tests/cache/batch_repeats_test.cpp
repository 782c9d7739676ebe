// Keys repeated within one batch: "resolved deterministically, as a sequential loop over the
// batch would" (cache.hpp). Every backend must agree when the batch does not evict the key.
#include <gtest/gtest.h>

#include "support/cache_harness.hpp"

namespace {

using belady::backend;
using belady::policy;
using belady_test::harness;
using h64 = harness<std::uint64_t, float>;

class BatchRepeats : public ::testing::TestWithParam<backend> {
 protected:
  void SetUp() override { BELADY_SKIP_UNLESS_USABLE(GetParam()); }
  h64 make(policy p = policy::lru) const {
    return h64({.capacity = 1024, .dim = 3, .bucket_size = 32, .eviction = p, .executor = GetParam()});
  }
};

TEST_P(BatchRepeats, InsertOrAssignStoresTheLastOccurrence) {
  auto h = make();
  auto r = h.insert({7, 7, 7}, {1, 2, 3});
  EXPECT_EQ(r.inserted, 1u);
  EXPECT_EQ(r.assigned, 2u);
  EXPECT_EQ(r.evicted + r.refused, 0u);
  auto f = h.find({7});
  ASSERT_TRUE(f.found[0]);
  EXPECT_EQ(f.rows[0], h.value(3));

  r = h.insert({7, 8, 7}, {4, 5, 6});  // present key repeated, beside a newcomer
  EXPECT_EQ(r.inserted, 1u);
  EXPECT_EQ(r.assigned, 2u);
  f = h.find({7, 8});
  EXPECT_EQ(f.rows[0], h.value(6));
  EXPECT_EQ(f.rows[1], h.value(5));
  EXPECT_EQ(h.c.size(), 2u);
}

TEST_P(BatchRepeats, AssignStoresTheLastOccurrenceAndIgnoresAbsentKeys) {
  auto h = make();
  h.insert({1, 2}, {10, 20});
  EXPECT_EQ(h.assign({1, 99, 1, 2}, {11, 12, 13, 21}), 3u);
  const auto f = h.find({1, 2, 99});
  EXPECT_EQ(f.rows[0], h.value(13));
  EXPECT_EQ(f.rows[1], h.value(21));
  EXPECT_FALSE(f.found[2]);
  EXPECT_EQ(h.c.size(), 2u);
}

TEST_P(BatchRepeats, InsertAndEvictStoresTheLastOccurrenceAndHandsNothingBack) {
  auto h = make();
  const auto out = h.insert_and_evict({5, 5}, {1, 2});
  EXPECT_EQ(out.result.inserted, 1u);
  EXPECT_EQ(out.result.assigned, 1u);
  EXPECT_EQ(out.result.handed_back(), 0u);
  EXPECT_TRUE(out.handed.empty());
  EXPECT_EQ(h.find({5}).rows[0], h.value(2));
}

TEST_P(BatchRepeats, FindOrInsertInsertsTheFirstOccurrenceAndOnlyItReportsNotFound) {
  auto h = make();
  const auto out = h.find_or_insert({4, 4, 4}, {1, 2, 3});
  EXPECT_EQ(out.hits, 2u);
  EXPECT_EQ(out.found, (std::vector<bool>{false, true, true}));
  for (const auto& r : out.rows) EXPECT_EQ(r, h.value(1));
  EXPECT_EQ(h.find({4}).rows[0], h.value(1));
  EXPECT_EQ(h.c.size(), 1u);
}

TEST_P(BatchRepeats, FindOrInsertMixesResidentsNewcomersAndRepeats) {
  auto h = make();
  h.insert({100}, {50});
  const auto out = h.find_or_insert({1, 100, 1, 2, 100, 2}, {1, 2, 3, 4, 5, 6});
  EXPECT_EQ(out.found, (std::vector<bool>{false, true, true, false, true, true}));
  EXPECT_EQ(out.hits, 4u);
  const std::vector<belady_test::row> want{h.value(1), h.value(50), h.value(1), h.value(4), h.value(50), h.value(4)};
  EXPECT_EQ(out.rows, want);
  EXPECT_EQ(h.c.size(), 3u);
}

TEST_P(BatchRepeats, FindReturnsEveryOccurrence) {
  auto h = make();
  h.insert({3}, {30});
  const auto f = h.find({3, 4, 3});
  EXPECT_EQ(f.hits, 2u);
  EXPECT_EQ(f.found, (std::vector<bool>{true, false, true}));
  EXPECT_EQ(f.rows[0], h.value(30));
  EXPECT_EQ(f.rows[2], h.value(30));
  EXPECT_EQ(f.rows[1], h.value(0xdead));  // a miss leaves its row alone
}

TEST_P(BatchRepeats, EraseCountsOnlyTheFirstOccurrence) {
  auto h = make();
  h.insert({1, 2}, {1, 2});
  EXPECT_EQ(h.erase({1, 1, 3, 2, 2}), 2u);
  EXPECT_EQ(h.c.size(), 0u);
}

INSTANTIATE_TEST_SUITE_P(Cache, BatchRepeats, ::testing::ValuesIn(belady_test::all_backends()),
                         belady_test::backend_param_name);

// Sequential executor (host_threads = 1): the batch is literally a loop, so even batches that
// evict or refuse follow the loop, except where the documentation leaves it open.

TEST(BatchRepeatsSequential, FindOrInsertOccurrenceRefusedThenInsertedByALaterOneReportsNotFound) {
  // One slot. R (score 10) is resident; the first K (score 5) is refused, the second (score 20)
  // evicts R. In loop order the first K never found K: found must be false and it keeps its value.
  h64 h({.capacity = 1,
         .dim = 3,
         .bucket_size = 1,
         .eviction = policy::custom,
         .executor = backend::host,
         .host_threads = 1});
  h.insert({1}, {10}, {10});
  const auto out = h.find_or_insert({2, 2}, {21, 22}, {5, 20});
  EXPECT_EQ(out.found, (std::vector<bool>{false, false}));
  EXPECT_EQ(out.hits, 0u);
  EXPECT_EQ(out.rows[0], h.value(21));
  EXPECT_EQ(out.rows[1], h.value(22));
  EXPECT_EQ(h.all(), (std::vector<belady_test::entry>{h.expected(2, 22, 20)}));
}

TEST(BatchRepeatsSequential, FindOrInsertKeyEvictedAndReinsertedKeepsEachInsertersValue) {
  // Two slots, lru. K is inserted, X fills the bucket, Y evicts K (tie on score: lowest slot),
  // then K comes again and is inserted anew. Each inserting occurrence reports not found and
  // returns its own value.
  h64 h({.capacity = 2,
         .dim = 3,
         .bucket_size = 2,
         .eviction = policy::lru,
         .executor = backend::host,
         .host_threads = 1});
  const auto out = h.find_or_insert({7, 8, 9, 7}, {1, 2, 3, 4});
  EXPECT_EQ(out.found, (std::vector<bool>{false, false, false, false}));
  EXPECT_EQ(out.hits, 0u);
  EXPECT_EQ(out.rows[0], h.value(1));
  EXPECT_EQ(out.rows[3], h.value(4));
  EXPECT_EQ(h.find({7}).rows[0], h.value(4));
}

// cache.hpp: the find_or_insert repeat rules hold "unless the same batch also evicts the key";
// then an occurrence may return its own input with found = false. Here 9 evicts 7 later in the
// batch: the second occurrence of 7 either found the first one's value or kept its own input,
// never anything else, and the first occurrence inserted its value.
TEST(BatchRepeatsSequential, FindOrInsertRepeatOfAKeyTheBatchEvictsFollowsTheDocumentedException) {
  h64 h({.capacity = 2,
         .dim = 3,
         .bucket_size = 2,
         .eviction = policy::lru,
         .executor = backend::host,
         .host_threads = 1});
  const auto out = h.find_or_insert({7, 7, 8, 9}, {1, 2, 3, 4});  // 9 evicts 7 (slot 0, tied score)
  EXPECT_FALSE(out.found[0]);
  EXPECT_EQ(out.rows[0], h.value(1));
  if (out.found[1]) {
    EXPECT_EQ(out.rows[1], h.value(1));
  } else {
    EXPECT_EQ(out.rows[1], h.value(2));
  }
  EXPECT_FALSE(out.found[2]);
  EXPECT_FALSE(out.found[3]);
  EXPECT_FALSE(h.find({7}).found[0]);  // evicted by 9
}

}  // namespace
