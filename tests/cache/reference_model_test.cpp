// The reference model against hand-computed outcomes, so that the differential tests compare the
// cache with something known to be right (and not merely with a copy of its own logic).
#include "support/reference_model.hpp"

#include <gtest/gtest.h>

#include <belady/detail/policy.hpp>

namespace {

using belady::policy;
using belady_test::entry;
using belady_test::model_fault;
using model = belady_test::reference_model<std::uint64_t, float>;

std::vector<float> val(std::uint64_t id) { return belady_test::value_from<float>(id, 2); }
entry e(std::uint64_t key, std::uint64_t id, std::uint64_t score) {
  return belady_test::make_entry(key, val(id).data(), 2, score);
}

void put(model& m, std::uint64_t key, std::uint64_t id, std::vector<entry>* handed = nullptr,
         std::vector<std::uint64_t> scores = {}) {
  const std::vector<std::uint64_t> k{key};
  const auto v = val(id);
  m.insert_or_assign(k, v, scores, handed);
}

TEST(ReferenceModel, RoundsCapacityUpToWholeBuckets) {
  model m(100, 2, 8, policy::lru);
  EXPECT_EQ(m.capacity(), 104u);
  EXPECT_EQ(m.bucket_count(), 13u);
}

TEST(ReferenceModel, LruByHand) {
  model m(4, 2, 4, policy::lru);
  for (std::uint64_t k = 1; k <= 4; ++k) put(m, k, k);  // t1..t4
  std::vector<float> out(2);
  bool found[1];
  const std::vector<std::uint64_t> one{1}, two{2};
  EXPECT_EQ(m.find(one, out, found), 1u);  // t5
  EXPECT_EQ(m.contains(two, found), 1u);   // t6
  std::vector<entry> handed;
  put(m, 5, 5, &handed);  // t7
  EXPECT_EQ(handed, std::vector<entry>{e(2, 2, 2)});
  EXPECT_EQ(m.export_all(), (std::vector<entry>{e(1, 1, 5), e(3, 3, 3), e(4, 4, 4), e(5, 5, 7)}));
  EXPECT_EQ(m.now(), 7u);
  EXPECT_EQ(m.export_range(1, 1), std::vector<entry>{e(5, 5, 7)});  // 5 took 2's slot
}

TEST(ReferenceModel, LfuRefusesWhenEveryResidentIsHotter) {
  model m(2, 2, 2, policy::lfu);
  put(m, 1, 1);  // t1
  put(m, 2, 2);  // t2
  std::vector<float> out(4);
  bool found[2];
  const std::vector<std::uint64_t> both{1, 2};
  m.find(both, out, found);  // t3: both seen twice
  std::vector<entry> handed;
  put(m, 3, 3, &handed);  // t4
  EXPECT_EQ(handed, std::vector<entry>{e(3, 3, belady::detail::lfu_score(1, 4))});
  EXPECT_EQ(m.size(), 2u);
}

TEST(ReferenceModel, CustomAdmitsTiesAndRefusesLower) {
  model m(1, 2, 1, policy::custom);
  std::vector<entry> handed;
  put(m, 1, 1, &handed, {10});
  put(m, 2, 2, &handed, {9});
  EXPECT_EQ(handed, std::vector<entry>{e(2, 2, 9)});
  handed.clear();
  put(m, 3, 3, &handed, {10});
  EXPECT_EQ(handed, std::vector<entry>{e(1, 1, 10)});
}

TEST(ReferenceModel, FindOrInsertMarksOnlyRepeatsOfAKeyEvictedAfterThem) {
  model m(2, 2, 2, policy::lru);
  const std::vector<std::uint64_t> keys{7, 7, 8, 9};  // 9 evicts 7 (tied scores: slot 0)
  std::vector<float> io;
  for (std::uint64_t id = 1; id <= 4; ++id) {
    const auto v = val(id);
    io.insert(io.end(), v.begin(), v.end());
  }
  bool found[4];
  const auto out = m.find_or_insert(keys, io, found);
  EXPECT_EQ(out.unspecified, (std::vector<bool>{false, true, false, false}));
  EXPECT_EQ(out.writes.inserted, 3u);
  EXPECT_EQ(out.writes.evicted, 1u);
  EXPECT_TRUE(found[1]);
  EXPECT_FALSE(found[0] || found[2] || found[3]);
  EXPECT_EQ(m.export_all(), (std::vector<entry>{e(8, 3, 1), e(9, 4, 1)}));
}

TEST(ReferenceModel, FaultsChangeTheModel) {
  // The perturbed models used by DifferentialCatchesFaults really differ on a small case.
  model good(2, 2, 2, policy::custom), bad(2, 2, 2, policy::custom, model_fault::victim_tie_to_highest_slot);
  for (model* m : {&good, &bad}) {
    put(*m, 1, 1, nullptr, {5});
    put(*m, 2, 2, nullptr, {5});
    put(*m, 3, 3, nullptr, {5});
  }
  EXPECT_EQ(good.export_all(), (std::vector<entry>{e(2, 2, 5), e(3, 3, 5)}));
  EXPECT_EQ(bad.export_all(), (std::vector<entry>{e(1, 1, 5), e(3, 3, 5)}));
}

}  // namespace
