#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>

#include "online/stats.hpp"

using belady::online::mcnemar_one_sided;
using belady::online::normal_upper_tail;
using belady::online::two_proportion_p_less;

namespace {

/// P(X >= k) for X ~ Binomial(n, 1/2), from exact binomial coefficients (exact in double for
/// n <= 50: every C(n, i) < 2^53).
double binomial_tail(int k, int n) {
  double sum = 0, c = 1;  // c = C(n, i)
  for (int i = 0; i <= n; ++i) {
    if (i >= k) sum += c;
    c = c * (n - i) / (i + 1);
  }
  return sum / std::ldexp(1.0, n);
}

/// The continuity-corrected normal approximation of the same tail.
double normal_tail(double k, double n) { return normal_upper_tail((k - 0.5 - 0.5 * n) / (0.5 * std::sqrt(n))); }

}  // namespace

TEST(OnlineStats, TheReferenceTailIsRight) {
  EXPECT_EQ(binomial_tail(10, 10), 1.0 / 1024);
  EXPECT_EQ(binomial_tail(5, 10), 638.0 / 1024);  // (252 + 210 + 120 + 45 + 10 + 1) / 2^10
  EXPECT_EQ(binomial_tail(0, 10), 1.0);
  EXPECT_EQ(binomial_tail(11, 10), 0.0);
}

TEST(OnlineStats, McNemarMatchesHandComputedTails) {
  EXPECT_EQ(mcnemar_one_sided(0, 0), 1.0);                  // no discordant pair: no evidence
  EXPECT_EQ(mcnemar_one_sided(10, 0), std::ldexp(1.0, -10));  // 10 heads in 10 tosses
  EXPECT_EQ(mcnemar_one_sided(0, 10), 1.0);
  EXPECT_EQ(mcnemar_one_sided(1, 0), 0.5);
  EXPECT_NEAR(mcnemar_one_sided(5, 5), 638.0 / 1024, 1e-15);  // 0.623: a tie is no evidence
  EXPECT_NEAR(mcnemar_one_sided(7, 3), 176.0 / 1024, 1e-15);  // (120 + 45 + 10 + 1) / 2^10
  EXPECT_NEAR(mcnemar_one_sided(3, 7), 968.0 / 1024, 1e-15);
  for (int k = 0; k <= 40; ++k)
    for (int other : {0, 1, 4, 9, 10, 15, 40})
      EXPECT_NEAR(mcnemar_one_sided(k, other), binomial_tail(k, k + other), 1e-14 * binomial_tail(k, k + other))
          << k << " vs " << other;
}

TEST(OnlineStats, McNemarMirrorTailsSumToOne) {
  // For a fair coin P(X >= k) + P(X >= n - k + 1) = P(X >= k) + P(X <= k - 1) = 1.
  // (k >= 1: the mirror of k = 0 would need k - 1 = -1 baseline-only requests.)
  const std::uint64_t cases[][2] = {{30, 20}, {1, 0}, {1, 1}, {501, 499}, {5'000, 5'000}, {51'000, 49'000},
                                    {5'004'000, 4'996'000}, {123, 4'567'890}};
  for (const auto& [k, other] : cases) {
    const std::uint64_t n = k + other;
    EXPECT_NEAR(mcnemar_one_sided(k, n - k) + mcnemar_one_sided(n - k + 1, k - 1), 1.0, 1e-12) << k << " of " << n;
  }
}

TEST(OnlineStats, McNemarFallsAsTheCandidateWinsMore) {
  const std::uint64_t n = 200'000;
  double previous = 1.0;
  for (std::uint64_t k = 99'000; k <= 102'000; k += 100) {
    const double p = mcnemar_one_sided(k, n - k);
    EXPECT_LT(p, previous) << k;
    previous = p;
  }
}

TEST(OnlineStats, McNemarLargeCountsMatchHighPrecisionValues) {
  // References from a 40-digit summation (mpmath) of the binomial tail.
  EXPECT_NEAR(mcnemar_one_sided(60'000, 59'000), 0.001889934817388447, 1e-12 * 0.0019);
  EXPECT_NEAR(mcnemar_one_sided(5'003'000, 4'997'000), 0.028910642657918774, 1e-9 * 0.029);
  EXPECT_NEAR(mcnemar_one_sided(5'010'000, 4'990'000), 1.2724002455775865e-10, 1e-8 * 1.27e-10);
  EXPECT_NEAR(mcnemar_one_sided(4'990'000, 5'010'000), 0.99999999987328003, 1e-14);
  EXPECT_NEAR(mcnemar_one_sided(500'050'000, 499'950'000), 0.00078278613054190379, 1e-6 * 7.8e-4);
  // Far tails stay relative-accurate rather than rounding to 0 early.
  EXPECT_NEAR(mcnemar_one_sided(100, 0), 7.8886090522101181e-31, 1e-14 * 7.9e-31);
  EXPECT_NEAR(mcnemar_one_sided(1000, 1), 4.6756507287011266e-299, 1e-12 * 4.7e-299);
}

TEST(OnlineStats, McNemarLargeCountsAgreeWithTheNormalApproximation) {
  // 10^7 discordant pairs, exact path: the approximation's error for a fair coin is O(1/n).
  for (std::uint64_t k : {5'000'000ull, 5'001'000ull, 5'003'000ull, 5'006'000ull})
    EXPECT_NEAR(mcnemar_one_sided(k, 10'000'000 - k), normal_tail(double(k), 1e7), 1e-7) << k;
  // Above 10^9 the approximation is what is returned; the exact value differs by 6e-12 there.
  const double p = mcnemar_one_sided(500'050'000, 499'950'001);
  EXPECT_DOUBLE_EQ(p, normal_tail(500'050'000.0, 1'000'000'001.0));
  EXPECT_NEAR(p, 0.00078287115121, 1e-10);
}

TEST(OnlineStats, TwoProportionMatchesKnownValues) {
  // 40/100 vs 60/100: pooled 0.5, se = sqrt(0.25 * 0.02), z = 2.828; references from mpmath.
  EXPECT_NEAR(two_proportion_p_less(40, 100, 60, 100), 0.00233886749052363, 1e-14);
  EXPECT_NEAR(two_proportion_p_less(450, 1000, 500, 1000), 0.0125822428501593, 1e-14);
  EXPECT_NEAR(two_proportion_p_less(9'500, 10'000, 9'600, 10'000), 0.000323668900507229, 1e-14);
  // One-sided both ways: the two directions sum to 1; equal proportions give 1/2.
  EXPECT_NEAR(two_proportion_p_less(40, 100, 60, 100) + two_proportion_p_less(60, 100, 40, 100), 1.0, 1e-15);
  EXPECT_DOUBLE_EQ(two_proportion_p_less(30, 100, 300, 1000), 0.5);
}

TEST(OnlineStats, TwoProportionWithoutEvidenceIsOne) {
  EXPECT_EQ(two_proportion_p_less(0, 0, 5, 10), 1.0);
  EXPECT_EQ(two_proportion_p_less(5, 10, 0, 0), 1.0);
  EXPECT_EQ(two_proportion_p_less(10, 10, 10, 10), 1.0);  // pooled variance 0: all hits
  EXPECT_EQ(two_proportion_p_less(0, 10, 0, 10), 1.0);    // all misses
  EXPECT_EQ(two_proportion_p_less(11, 10, 5, 10), 1.0);   // more hits than requests: no p-value
}

TEST(OnlineStats, NormalUpperTail) {
  EXPECT_DOUBLE_EQ(normal_upper_tail(0.0), 0.5);
  EXPECT_NEAR(normal_upper_tail(1.959963984540054), 0.025, 1e-15);
  EXPECT_NEAR(normal_upper_tail(-1.959963984540054), 0.975, 1e-15);
  EXPECT_NEAR(normal_upper_tail(10.0), 7.61985302416052607e-24, 1e-36);  // where 1 - Phi is 0
}
