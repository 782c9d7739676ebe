#include "online/stats.hpp"

#include <algorithm>
#include <cmath>

namespace belady::online {
namespace {

// Above this many discordant pairs the exact sum (about 4.4 sqrt(n) terms) gives way to the
// normal approximation, whose error for a fair coin falls as 1/n.
constexpr std::uint64_t exact_limit = 1'000'000'000;

/// P(X >= k) for X ~ Binomial(n, 1/2) when 2k > n: a tail entirely above the mode, so its terms
/// C(n, i) 2^-n fall with every i and the first is the largest.
double tail_above_mode(std::uint64_t k, std::uint64_t n) {
  if (k > n) return 0.0;
  // log C(n, k) 2^-n: the three lgamma values are ~n log n and nearly cancel, so they are taken
  // in long double (64-bit mantissa on x86-64: ~2e-9 absolute error in the log at n = 10^9).
  const long double nl = static_cast<long double>(n), kl = static_cast<long double>(k);
  const long double log_first =
      std::lgamma(nl + 1) - std::lgamma(kl + 1) - std::lgamma(nl - kl + 1) - nl * std::log(2.0L);
  // The sum below is at most n + 1 times the first term: past this the result is 0 in double.
  if (log_first < -800.0L) return 0.0;
  // The others relative to the first, by the ratio C(n, i + 1) / C(n, i) = (n - i) / (i + 1) < 1:
  // one division a term instead of three lgamma calls, and the rounding it accumulates (~1e-16 a
  // step, at most ~1.4e5 steps) stays far below the lgamma error.
  double term = 1.0, sum = 1.0;
  for (std::uint64_t i = k; i < n; ++i) {
    term *= static_cast<double>(n - i) / static_cast<double>(i + 1);
    sum += term;
    if (term < sum * 1e-18) break;  // the remaining terms fall faster than geometrically
  }
  return static_cast<double>(std::exp(log_first + static_cast<long double>(std::log(sum))));
}

}  // namespace

double normal_upper_tail(double z) { return 0.5 * std::erfc(z / std::sqrt(2.0)); }

double mcnemar_one_sided(std::uint64_t candidate_only, std::uint64_t baseline_only) {
  const std::uint64_t n = candidate_only + baseline_only;
  const std::uint64_t k = candidate_only;
  if (n == 0 || k == 0) return 1.0;  // P(X >= 0) = 1
  if (n > exact_limit) {
    const double half_n = 0.5 * static_cast<double>(n);
    const double z = (static_cast<double>(k) - 0.5 - half_n) / std::sqrt(0.5 * half_n);
    return std::clamp(normal_upper_tail(z), 0.0, 1.0);
  }
  // Only tails above the mode are summed directly: their terms fall from the first. A tail that
  // reaches below it is 1 minus the mirror tail, P(X >= k) = 1 - P(X >= n - k + 1), which is
  // at least 1/2, so the subtraction loses nothing that matters.
  const double p = 2 * k > n ? tail_above_mode(k, n) : 1.0 - tail_above_mode(n - k + 1, n);
  return std::clamp(p, 0.0, 1.0);
}

double two_proportion_p_less(std::uint64_t hits_a, std::uint64_t n_a, std::uint64_t hits_b, std::uint64_t n_b) {
  if (n_a == 0 || n_b == 0 || hits_a > n_a || hits_b > n_b) return 1.0;
  const double pa = static_cast<double>(hits_a) / static_cast<double>(n_a);
  const double pb = static_cast<double>(hits_b) / static_cast<double>(n_b);
  const double pooled = (static_cast<double>(hits_a) + static_cast<double>(hits_b)) /
                        (static_cast<double>(n_a) + static_cast<double>(n_b));
  const double variance =
      pooled * (1.0 - pooled) * (1.0 / static_cast<double>(n_a) + 1.0 / static_cast<double>(n_b));
  if (!(variance > 0.0)) return 1.0;
  return std::clamp(normal_upper_tail((pb - pa) / std::sqrt(variance)), 0.0, 1.0);
}

}  // namespace belady::online
