#include <gtest/gtest.h>

#include <cmath>

#include "online/stats.hpp"

using belady::online::mcnemar_one_sided;
using belady::online::normal_upper_tail;
using belady::online::two_proportion_p_less;

namespace {
/// P(X >= k), X ~ Bin(n, 1/2), by direct summation of exact binomial coefficients (small n).
double exact_tail(int k, int n) {
  double sum = 0, c = 1;  // C(n, 0)
  for (int i = 0; i <= n; ++i) {
    if (i >= k) sum += c;
    c = c * (n - i) / (i + 1);
  }
  return sum / std::pow(2.0, n);
}
}  // namespace

TEST(OnlineStats, McNemarMatchesTheExactBinomialTail) {
  EXPECT_DOUBLE_EQ(mcnemar_one_sided(0, 0), 1.0);
  EXPECT_NEAR(mcnemar_one_sided(10, 0), std::pow(2.0, -10), 1e-15);
  EXPECT_NEAR(mcnemar_one_sided(0, 10), 1.0, 1e-12);
  for (int k : {0, 3, 5, 7, 12, 20})
    for (int other : {0, 4, 9, 15}) EXPECT_NEAR(mcnemar_one_sided(k, other), exact_tail(k, k + other), 1e-12) << k << "," << other;
  EXPECT_NEAR(mcnemar_one_sided(5, 5), exact_tail(5, 10), 1e-12);  // 0.623
  // Symmetry: P(X >= k) + P(X >= n - k + 1) = 1.
  EXPECT_NEAR(mcnemar_one_sided(30, 20) + mcnemar_one_sided(21, 29), 1.0, 1e-12);
}

TEST(OnlineStats, McNemarLargeCountsAgreeWithTheNormalApproximation) {
  // 60,000 vs 59,000 discordant pairs: z = (1000 - 1) / sqrt(119000) ~ 2.896 (approximation path)
  const double p = mcnemar_one_sided(60'000, 59'000);
  EXPECT_NEAR(p, normal_upper_tail((60'000 - 0.5 - 59'500.0) / (0.5 * std::sqrt(119'000.0))), 1e-12);
  EXPECT_NEAR(p, 0.0019, 0.0003);
  // Just below the switch the exact sum is used and agrees with the approximation.
  const double exact = mcnemar_one_sided(50'300, 49'700);
  EXPECT_NEAR(exact, normal_upper_tail((50'300 - 0.5 - 50'000.0) / (0.5 * std::sqrt(100'000.0))), 2e-4);
}

TEST(OnlineStats, TwoProportionTest) {
  // 40/100 vs 60/100: pooled 0.5, se = sqrt(0.5 * 0.5 * 0.02) = 0.0707, z = 2.828, p = 0.00234
  EXPECT_NEAR(two_proportion_p_less(40, 100, 60, 100), 0.00234, 1e-4);
  EXPECT_NEAR(two_proportion_p_less(60, 100, 40, 100), 1 - 0.00234, 1e-4);
  EXPECT_DOUBLE_EQ(two_proportion_p_less(0, 0, 5, 10), 1.0);
  EXPECT_DOUBLE_EQ(two_proportion_p_less(10, 10, 10, 10), 1.0);  // no variance
}
