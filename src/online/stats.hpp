#pragma once
// The significance tests behind online learning's decisions: McNemar's exact test on paired
// simulated outcomes (promotion, and the rollback watch's twin simulations) and a pooled
// two-proportion z-test (the live A/B veto and the rollback watch's before/after hit ratios).
#include <cstdint>

namespace belady::online {

/// P(Z >= z) for a standard normal Z (0.5 erfc(z / sqrt 2): accurate far into the tail, where
/// 1 - Phi(z) would cancel to 0).
[[nodiscard]] double normal_upper_tail(double z);

/**
 * @brief McNemar's exact test, one-sided, for paired binary outcomes.
 *
 * Per request, did the candidate hit and did the baseline hit (on the same request). Only the
 * discordant requests carry evidence; under H0 "the candidate is no better" each of them is a fair
 * coin, so the p-value is P(X >= candidate_only) for X ~ Binomial(candidate_only + baseline_only,
 * 1/2): small when the candidate is better.
 *
 * Exact, summed in log space, for up to 10^9 discordant pairs (at most ~1.5e5 terms): relative
 * error about 1e-11 at 10^7 pairs and 2e-9 at 10^9 where long double is wider than double
 * (x86-64; checked against 40-digit arithmetic), about 1e-7 at 10^7 where it is not. Above 10^9
 * pairs it returns the continuity-corrected normal approximation, whose absolute error there is
 * below 1e-10 (for a fair coin it falls as 1/n): far under any significance level in use.
 * A p-value below ~1e-308 reads 0.
 * @param candidate_only requests only the candidate hit
 * @param baseline_only requests only the baseline hit
 * @return the p-value in [0, 1]; 1 when both counts are 0 (no evidence either way)
 */
[[nodiscard]] double mcnemar_one_sided(std::uint64_t candidate_only, std::uint64_t baseline_only);

/**
 * @brief One-sided p-value that proportion a (hits_a / n_a) is lower than proportion b: the
 * pooled two-proportion z-test, z = (p_b - p_a) / sqrt(p (1 - p) (1/n_a + 1/n_b)).
 *
 * Independent samples (unlike McNemar's test): e.g. the hit ratios of two groups of buckets.
 * A normal approximation: meaningful once each sample has a few dozen hits and misses.
 * @return the p-value in [0, 1]; 1 when either n is 0 or the pooled variance is 0 (all hits or
 *         all misses), and when a count of hits exceeds its count of requests
 */
[[nodiscard]] double two_proportion_p_less(std::uint64_t hits_a, std::uint64_t n_a, std::uint64_t hits_b,
                                           std::uint64_t n_b);

}  // namespace belady::online
