// The seeded synthetic workloads (bench/common/synthetic.hpp) that tests, the demo and the
// benchmarks share.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

#include "common/synthetic.hpp"

using namespace belady::workload;

TEST(Synthetic, SameSeedSameSequenceOtherSeedOther) {
  const std::vector<phase> plan{{pattern::zipf, 5000, 1000, 0, 0.9}, {pattern::burst, 5000, 0, 1 << 20}};
  EXPECT_EQ(generate(plan, 1), generate(plan, 1));
  EXPECT_NE(generate(plan, 1), generate(plan, 2));
  EXPECT_EQ(generate(plan, 1).size(), 10000u);
}

TEST(Synthetic, ZipfIsSkewedUniformIsNot) {
  auto top_share = [](const std::vector<std::uint64_t>& t) {
    std::map<std::uint64_t, int> count;
    for (auto k : t) ++count[k];
    int best = 0;
    for (auto& [k, c] : count) best = std::max(best, c);
    return double(best) / double(t.size());
  };
  const auto z = generate({{pattern::zipf, 100000, 10000, 0, 1.0}}, 3);
  const auto u = generate({{pattern::uniform, 100000, 10000, 0}}, 3);
  // Zipf(1) over 10,000 ranks: the top key has 1/H(10000) ~ 10 % of requests.
  EXPECT_NEAR(top_share(z), 0.102, 0.01);
  EXPECT_LT(top_share(u), 0.001);
}

TEST(Synthetic, ScanNeverRepeatsLoopRepeatsInOrder) {
  const auto s = generate({{pattern::scan, 5000, 5000, 7}}, 1);
  EXPECT_EQ(std::set<std::uint64_t>(s.begin(), s.end()).size(), 5000u);
  const auto l = generate({{pattern::loop, 300, 100, 7}}, 1);
  for (std::size_t i = 100; i < l.size(); ++i) ASSERT_EQ(l[i], l[i - 100]);
  EXPECT_EQ(std::set<std::uint64_t>(l.begin(), l.end()).size(), 100u);
}

TEST(Synthetic, BurstsAreShortLivedKeysRequestedSeveralTimes) {
  phase p{pattern::burst, 200000, 0, 0};
  p.burst_width = 16;
  p.burst_length = 8.0;
  const auto t = generate({p}, 5);
  std::map<std::uint64_t, std::pair<std::size_t, std::size_t>> span;  // first, last index
  std::map<std::uint64_t, int> count;
  for (std::size_t i = 0; i < t.size(); ++i) {
    auto [it, fresh] = span.try_emplace(t[i], i, i);
    it->second.second = i;
    ++count[t[i]];
  }
  const double mean_count = double(t.size()) / double(count.size());
  EXPECT_NEAR(mean_count, 8.0, 0.5);  // 1 + geometric failures (mean 7): burst_length
  // A key's requests sit close together: with 16 active keys and ~8 requests each, a burst
  // lasts ~150 requests; keys never come back after it.
  double mean_span = 0;
  for (auto& [k, s] : span) mean_span += double(s.second - s.first);
  mean_span /= double(span.size());
  EXPECT_LT(mean_span, 400.0);
  EXPECT_GT(mean_span, 50.0);
}

TEST(Synthetic, PhasesFollowEachOther) {
  const auto t = generate({{pattern::loop, 100, 10, 0}, {pattern::loop, 100, 10, 1000}}, 1);
  ASSERT_EQ(t.size(), 200u);
  std::set<std::uint64_t> first(t.begin(), t.begin() + 100), second(t.begin() + 100, t.end());
  std::vector<std::uint64_t> both;
  std::set_intersection(first.begin(), first.end(), second.begin(), second.end(), std::back_inserter(both));
  EXPECT_TRUE(both.empty());
}
