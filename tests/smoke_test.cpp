#include <gtest/gtest.h>

#include <belady/belady.hpp>
#include <numeric>
#include <vector>

TEST(Smoke, InsertFind) {
  belady::cache<std::uint64_t, float> c({.capacity = 1024, .dim = 4, .executor = belady::backend::host});
  std::vector<std::uint64_t> keys(100);
  std::iota(keys.begin(), keys.end(), 1);
  std::vector<float> vals(400);
  std::iota(vals.begin(), vals.end(), 0.f);
  auto r = c.insert_or_assign(keys, vals);
  EXPECT_EQ(r.inserted, 100u);
  std::vector<float> out(400);
  std::vector<char> f(100);
  std::unique_ptr<bool[]> found(new bool[100]);
  EXPECT_EQ(c.find(keys, out, std::span<bool>(found.get(), 100)), 100u);
  EXPECT_EQ(out, vals);
  EXPECT_EQ(c.size(), 100u);
}
