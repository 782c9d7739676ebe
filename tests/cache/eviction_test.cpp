// Eviction order on a table of one bucket (capacity == bucket_size == 4), one key per batch so
// that every executor is deterministic. The logical clock advances once per batch call; the
// comments give the time of each call, and every score below is exact.
#include <gtest/gtest.h>

#include <belady/detail/policy.hpp>

#include "support/cache_harness.hpp"

namespace {

using belady::backend;
using belady::policy;
using belady::detail::lfu_score;
using belady_test::entry;
using belady_test::harness;
using h64 = harness<std::uint64_t, float>;

class Eviction : public ::testing::TestWithParam<backend> {
 protected:
  void SetUp() override { BELADY_SKIP_UNLESS_USABLE(GetParam()); }
  h64 make(policy p) const {
    h64 h({.capacity = 4, .dim = 2, .bucket_size = 4, .eviction = p, .executor = GetParam()});
    EXPECT_EQ(h.c.bucket_count(), 1u);
    return h;
  }
  /// t1..t4: keys 1..4 (value ids 1..4), one batch each.
  static void fill(h64& h, const std::vector<std::uint64_t>& scores = {}) {
    for (std::uint64_t k = 1; k <= 4; ++k) {
      const auto r = scores.empty() ? h.insert({k}, {k}) : h.insert({k}, {k}, {scores[k - 1]});
      ASSERT_EQ(r.inserted, 1u);
    }
  }
};

TEST_P(Eviction, LruEvictsTheLeastRecentlyUsed) {
  auto h = make(policy::lru);
  fill(h);
  auto f = h.find({1});  // t5
  EXPECT_EQ(f.scores[0], 5u);
  std::size_t hits = 0;
  EXPECT_EQ(h.contains({2}, &hits), std::vector<bool>{true});  // t6: not an access
  EXPECT_EQ(hits, 1u);
  auto out = h.insert_and_evict({5}, {5});  // t7: 2 is the least recent (t2)
  EXPECT_EQ(out.result.inserted, 1u);
  EXPECT_EQ(out.result.evicted, 1u);
  EXPECT_EQ(out.result.refused, 0u);
  EXPECT_EQ(out.handed, std::vector<entry>{h.expected(2, 2, 2)});
  EXPECT_EQ(h.assign({3}, {33}), 1u);  // t8: an assign is an access
  out = h.insert_and_evict({6}, {6});  // t9: 4 (t4) is now the least recent
  EXPECT_EQ(out.handed, std::vector<entry>{h.expected(4, 4, 4)});
  EXPECT_EQ(h.all(),
            (std::vector<entry>{h.expected(1, 1, 5), h.expected(3, 33, 8), h.expected(5, 5, 7), h.expected(6, 6, 9)}));
}

TEST_P(Eviction, LfuEvictsTheLeastFrequentlyUsedAndRefusesWhenAllAreHot) {
  auto h = make(policy::lfu);
  fill(h);
  h.find({1});                                        // t5: count 2
  EXPECT_EQ(h.find({1}).scores[0], lfu_score(3, 6));  // t6: count 3
  h.find({2});                                        // t7: count 2
  h.find({3});                                        // t8: count 2
  auto out = h.insert_and_evict({5}, {5});            // t9: 4 is the only key seen once
  EXPECT_EQ(out.result.evicted, 1u);
  EXPECT_EQ(out.handed, std::vector<entry>{h.expected(4, 4, lfu_score(1, 4))});
  EXPECT_EQ(h.find({5}).scores[0], lfu_score(2, 10));  // t10: every resident now seen twice
  // t11: a newcomer (count 1) scores below every resident: refused and handed back.
  out = h.insert_and_evict({6}, {6});
  EXPECT_EQ(out.result.inserted, 0u);
  EXPECT_EQ(out.result.evicted, 0u);
  EXPECT_EQ(out.result.refused, 1u);
  EXPECT_EQ(out.handed, std::vector<entry>{h.expected(6, 6, lfu_score(1, 11))});
  EXPECT_EQ(h.contains({6}), std::vector<bool>{false});  // t12
  const auto r = h.insert({7}, {7});                     // t13: insert_or_assign refuses too
  EXPECT_EQ(r.refused, 1u);
  EXPECT_EQ(r.inserted, 0u);
  EXPECT_EQ(h.insert({2}, {22}).assigned, 1u);  // t14: an overwrite counts: 2 seen 3 times
  EXPECT_EQ(h.all(), (std::vector<entry>{h.expected(1, 1, lfu_score(3, 6)), h.expected(2, 22, lfu_score(3, 14)),
                                         h.expected(3, 3, lfu_score(2, 8)), h.expected(5, 5, lfu_score(2, 10))}));
}

TEST_P(Eviction, LfuBreaksCountTiesByRecency) {
  auto h = make(policy::lfu);
  fill(h);
  h.find({1});                              // t5: 1 seen twice; 2, 3, 4 once
  auto out = h.insert_and_evict({5}, {5});  // t6: of the keys seen once, 2 is the oldest
  EXPECT_EQ(out.handed, std::vector<entry>{h.expected(2, 2, lfu_score(1, 2))});
  out = h.insert_and_evict({6}, {6});  // t7: then 3
  EXPECT_EQ(out.handed, std::vector<entry>{h.expected(3, 3, lfu_score(1, 3))});
}

TEST_P(Eviction, FifoEvictsTheOldestInsertionEvenIfItWasHit) {
  auto h = make(policy::fifo);
  fill(h);
  EXPECT_EQ(h.find({1}).scores[0], 1u);     // t5: hits do not move a fifo score
  h.find({1});                              // t6
  EXPECT_EQ(h.assign({2}, {22}), 1u);       // t7: neither do writes
  auto out = h.insert_and_evict({5}, {5});  // t8
  EXPECT_EQ(out.handed, std::vector<entry>{h.expected(1, 1, 1)});
  EXPECT_EQ(h.insert({2}, {23}).assigned, 1u);  // t9
  out = h.insert_and_evict({6}, {6});           // t10
  EXPECT_EQ(out.handed, std::vector<entry>{h.expected(2, 23, 2)});
  EXPECT_EQ(h.all(),
            (std::vector<entry>{h.expected(3, 3, 3), h.expected(4, 4, 4), h.expected(5, 5, 8), h.expected(6, 6, 10)}));
}

TEST_P(Eviction, CustomEvictsTheLowestCallerScoreAndRefusesLowerNewcomers) {
  auto h = make(policy::custom);
  fill(h, {10, 20, 30, 40});
  auto out = h.insert_and_evict({5}, {5}, {15});
  EXPECT_EQ(out.handed, std::vector<entry>{h.expected(1, 1, 10)});
  out = h.insert_and_evict({6}, {6}, {5});  // below every resident (15, 20, 30, 40): refused
  EXPECT_EQ(out.result.refused, 1u);
  EXPECT_EQ(out.result.inserted, 0u);
  EXPECT_EQ(out.handed, std::vector<entry>{h.expected(6, 6, 5)});
  out = h.insert_and_evict({7}, {7}, {15});  // equal to the lowest resident: admitted
  EXPECT_EQ(out.result.evicted, 1u);
  EXPECT_EQ(out.handed, std::vector<entry>{h.expected(5, 5, 15)});
  EXPECT_EQ(h.find({2}).scores[0], 20u);    // a hit keeps the caller's score
  EXPECT_EQ(h.assign({4}, {44}, {1}), 1u);  // an assign with a score replaces it
  EXPECT_EQ(h.assign({3}, {33}), 1u);       // one without keeps it
  out = h.insert_and_evict({8}, {8}, {2});
  EXPECT_EQ(out.handed, std::vector<entry>{h.expected(4, 44, 1)});
  EXPECT_EQ(h.all(), (std::vector<entry>{h.expected(2, 2, 20), h.expected(3, 33, 30), h.expected(7, 7, 15),
                                         h.expected(8, 8, 2)}));
}

TEST_P(Eviction, TiesGoToTheLowestSlot) {
  auto h = make(policy::custom);
  fill(h, {7, 7, 7, 7});  // keys 1..4 in slots 0..3
  auto out = h.insert_and_evict({5}, {5}, {7});
  EXPECT_EQ(out.handed, std::vector<entry>{h.expected(1, 1, 7)});  // slot 0
  out = h.insert_and_evict({6}, {6}, {7});
  EXPECT_EQ(out.handed, std::vector<entry>{h.expected(5, 5, 7)});  // 5 took slot 0
  EXPECT_EQ(belady_test::export_range(h.c, 0, 1), std::vector<entry>{h.expected(6, 6, 7)});
  EXPECT_EQ(belady_test::export_range(h.c, 1, 1), std::vector<entry>{h.expected(2, 2, 7)});
}

TEST_P(Eviction, InsertOrAssignCountsWhatInsertAndEvictHandsBack) {
  auto h = make(policy::custom);
  fill(h, {10, 20, 30, 40});
  const auto r = h.insert({5, 6, 2}, {5, 6, 22}, {50, 1, 25});  // evicts 1, refuses 6, assigns 2
  EXPECT_EQ(r.inserted, 1u);
  EXPECT_EQ(r.evicted, 1u);
  EXPECT_EQ(r.refused, 1u);
  EXPECT_EQ(r.assigned, 1u);
  EXPECT_EQ(r.handed_back(), 2u);
  EXPECT_EQ(h.all(), (std::vector<entry>{h.expected(2, 22, 25), h.expected(3, 3, 30), h.expected(4, 4, 40),
                                         h.expected(5, 5, 50)}));
}

TEST_P(Eviction, FindOrInsertEvictsAndRefusesLikeAnInsert) {
  auto h = make(policy::custom);
  fill(h, {10, 20, 30, 40});
  auto out = h.find_or_insert({5}, {5}, {15});
  EXPECT_EQ(out.found, std::vector<bool>{false});
  EXPECT_EQ(h.contains({1, 5}), (std::vector<bool>{false, true}));
  out = h.find_or_insert({6}, {6}, {1});  // refused: not found, keeps its input
  EXPECT_EQ(out.found, std::vector<bool>{false});
  EXPECT_EQ(out.rows[0], h.value(6));
  EXPECT_EQ(h.contains({6}), std::vector<bool>{false});
  EXPECT_EQ(h.c.size(), 4u);
}

INSTANTIATE_TEST_SUITE_P(Cache, Eviction, ::testing::ValuesIn(belady_test::all_backends()),
                         belady_test::backend_param_name);

}  // namespace
