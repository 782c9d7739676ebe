#include <gtest/gtest.h>

#include "exact_policy.hpp"

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
