#pragma once
// The significance tests behind promotion (McNemar's exact test on paired simulated outcomes)
// and the live A/B veto (a two-proportion z-test).
#include <cstdint>

namespace belady::online {

/// P(Z >= z) for a standard normal Z.
double normal_upper_tail(double z);

/// McNemar's exact test, one-sided, for paired binary outcomes (per request: did the candidate
/// hit, did the baseline hit). `candidate_only`: requests only the candidate hit; `baseline_only`:
/// only the baseline. Returns P(X >= candidate_only) for X ~ Binomial(candidate_only +
/// baseline_only, 1/2): small when the candidate is better. 1 when both are 0. Exact (log-space
/// sum) up to 100,000 discordant pairs; beyond, the continuity-corrected normal approximation,
/// whose error there is far below any threshold used.
double mcnemar_one_sided(std::uint64_t candidate_only, std::uint64_t baseline_only);

/// One-sided p-value that proportion a (hits_a / n_a) is lower than proportion b: the pooled
/// two-proportion z-test. 1 when either sample is empty or the pooled variance is 0.
double two_proportion_p_less(std::uint64_t hits_a, std::uint64_t n_a, std::uint64_t hits_b, std::uint64_t n_b);

}  // namespace belady::online
