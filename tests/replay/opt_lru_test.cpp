#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "exact_policy.hpp"
#include "trace.hpp"

using namespace belady::replay;

namespace {
std::vector<request> keys(std::initializer_list<std::uint64_t> ks) {
  std::vector<request> t;
  for (auto k : ks) t.push_back({k, 1, -1});
  annotate_next_access(t);
  return t;
}
}  // namespace

TEST(ExactLru, EvictsLeastRecentlyUsed) {
  auto p = make_lru(2);
  auto t = keys({1, 2, 1, 3, 2, 1});
  // 1 m, 2 m, 1 h, 3 m (evict 2), 2 m (evict 1), 1 m
  std::vector<bool> hits;
  for (auto& r : t) hits.push_back(p->access(r));
  EXPECT_EQ(hits, (std::vector<bool>{false, false, true, false, false, false}));
}

TEST(ExactOpt, EvictsFurthestNextUse) {
  auto p = make_opt(2);
  auto t = keys({1, 2, 3, 1, 2, 3});
  // 1 m, 2 m, 3 m (evict 2: next use 4 > 1's 3)... then 1 h, 2 m, 3 h
  std::vector<bool> hits;
  for (auto& r : t) hits.push_back(p->access(r));
  EXPECT_EQ(hits, (std::vector<bool>{false, false, false, true, false, true}));
}

// The ARC paper (Megiddo & Modha, FAST '03), Table IV, OLTP row, LRU column: hit ratios in %.
TEST(ExactLru, ReproducesTheArcPaperOnOltp) {
  const std::string path = std::string(BELADY_TRACES_DIR) + "/OLTP.lis";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "trace " << path << " not found (BELADY_TRACES_DIR)";
  auto trace = load_trace({.path = path, .format = trace_format::arc});
  ASSERT_EQ(trace.size(), 914145u);
  const std::pair<std::uint64_t, double> published[] = {
      {1000, 32.83}, {2000, 42.47}, {5000, 53.65}, {10000, 60.70}, {15000, 64.63}};
  for (const auto& [capacity, hit_percent] : published) {
    auto lru = make_lru(capacity);
    const double hits = double(trace.size() - count_misses(*lru, trace));
    EXPECT_NEAR(100.0 * hits / double(trace.size()), hit_percent, 0.005) << "capacity " << capacity;
  }
}
