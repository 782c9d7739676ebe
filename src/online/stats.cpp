#include "online/stats.hpp"

#include <algorithm>
#include <cmath>

namespace belady::online {

double normal_upper_tail(double z) { return 0.5 * std::erfc(z / std::sqrt(2.0)); }

double mcnemar_one_sided(std::uint64_t candidate_only, std::uint64_t baseline_only) {
  const std::uint64_t n = candidate_only + baseline_only;
  if (n == 0) return 1.0;
  const std::uint64_t k = candidate_only;
  if (n > 100'000) {
    const double mean = 0.5 * double(n), sd = 0.5 * std::sqrt(double(n));
    return std::clamp(normal_upper_tail((double(k) - 0.5 - mean) / sd), 0.0, 1.0);
  }
  // sum_{i=k}^{n} C(n, i) 2^-n, in log space from the largest term down (log-sum-exp).
  const double log_half_n = -double(n) * std::log(2.0);
  auto log_term = [&](std::uint64_t i) {
    return std::lgamma(double(n) + 1) - std::lgamma(double(i) + 1) - std::lgamma(double(n - i) + 1) + log_half_n;
  };
  const std::uint64_t mode = std::max<std::uint64_t>(k, n / 2);  // the largest term of the tail
  const double top = log_term(mode);
  double sum = 0;
  for (std::uint64_t i = k; i <= n; ++i) {
    const double t = log_term(i) - top;
    if (t < -50 && i > mode) break;  // the rest is below 1e-22 of the sum
    sum += std::exp(t);
  }
  return std::clamp(std::exp(top + std::log(sum)), 0.0, 1.0);
}

double two_proportion_p_less(std::uint64_t hits_a, std::uint64_t n_a, std::uint64_t hits_b, std::uint64_t n_b) {
  if (n_a == 0 || n_b == 0) return 1.0;
  const double pa = double(hits_a) / double(n_a), pb = double(hits_b) / double(n_b);
  const double pooled = double(hits_a + hits_b) / double(n_a + n_b);
  const double var = pooled * (1 - pooled) * (1.0 / double(n_a) + 1.0 / double(n_b));
  if (!(var > 0)) return 1.0;
  return normal_upper_tail((pb - pa) / std::sqrt(var));
}

}  // namespace belady::online
