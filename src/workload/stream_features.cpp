// Stream features of a window of accesses (belady/workload.hpp). Every feature is a ratio or a
// distance normalised by the window, so a sampled stream and the full one give similar values.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>
#include <unordered_map>
#include <vector>

#include "belady/error.hpp"
#include "belady/workload.hpp"

namespace belady::workload {
namespace {

constexpr std::string_view names[stream_feature_count] = {
    "unique_ratio",           // distinct keys / requests
    "reuse_fraction",         // requests whose key was seen earlier in the window
    "stack_distance_p10",     // reuse (stack) distance quantiles, / distinct keys
    "stack_distance_p25",
    "stack_distance_p50",
    "stack_distance_p75",
    "stack_distance_p90",
    "stack_distance_cv",      // std / mean of the stack distances
    "periodicity",            // share of stack distances within 5 % of their median (a loop: 1)
    "zipf_alpha",             // slope of log frequency against log rank (0..3)
    "top1_share",             // requests to the most requested 1 % of keys
    "top10_share",            // ... 10 % of keys
    "frequency_entropy",      // entropy of the key frequencies / log(distinct keys)
    "new_run_mean",           // mean run of first-seen keys, log2(1 + run) / log2(1 + n)
    "new_run_max",            // longest run of first-seen keys / requests
    "reuse_time_mean",        // mean requests between a reuse and its previous access / n
    "reuse_time_cv",          // their std / mean
    "short_reuse_share",      // reuses at stack distance below 1 % of distinct keys (bursts)
    "sequential_keys",        // consecutive requests whose keys differ by exactly 1
    "drift",                  // distinct keys of the second half not seen in the first
    "distance_autocorr",      // lag-1 autocorrelation of successive stack distances
};

/// Fenwick tree of 0/1 markers over window positions: a key's marker sits at its last access.
class fenwick {
 public:
  explicit fenwick(std::size_t n) : t_(n + 1, 0) {}
  void add(std::size_t i, int v) {
    for (++i; i < t_.size(); i += i & (~i + 1)) t_[i] += v;
  }
  [[nodiscard]] int prefix(std::size_t i) const {  // sum of [0, i)
    int s = 0;
    for (; i > 0; i -= i & (~i + 1)) s += t_[i];
    return s;
  }

 private:
  std::vector<int> t_;
};

double quantile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0;
  const double pos = q * double(sorted.size() - 1);
  const auto lo = static_cast<std::size_t>(pos);
  const std::size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (pos - double(lo)) * (sorted[hi] - sorted[lo]);
}

double cv(const std::vector<double>& v) {
  if (v.size() < 2) return 0;
  const double mean = std::accumulate(v.begin(), v.end(), 0.0) / double(v.size());
  if (mean <= 0) return 0;
  double var = 0;
  for (double x : v) var += (x - mean) * (x - mean);
  return std::sqrt(var / double(v.size())) / mean;
}

double autocorrelation(const std::vector<double>& v) {
  if (v.size() < 3) return 0;
  const double mean = std::accumulate(v.begin(), v.end(), 0.0) / double(v.size());
  double num = 0, den = 0;
  for (std::size_t i = 0; i < v.size(); ++i) {
    den += (v[i] - mean) * (v[i] - mean);
    if (i + 1 < v.size()) num += (v[i] - mean) * (v[i + 1] - mean);
  }
  return den > 0 ? num / den : 0;
}

/// Least-squares slope of log(frequency) on log(rank) over the ranks seen at least twice.
double zipf_alpha(const std::vector<std::uint32_t>& freq_desc) {
  std::size_t m = 0;
  while (m < freq_desc.size() && freq_desc[m] >= 2) ++m;
  if (m < 8) return 0;
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (std::size_t r = 0; r < m; ++r) {
    const double x = std::log(double(r + 1)), y = std::log(double(freq_desc[r]));
    sx += x, sy += y, sxx += x * x, sxy += x * y;
  }
  const double n = double(m), den = n * sxx - sx * sx;
  if (den <= 0) return 0;
  return std::clamp(-(n * sxy - sx * sy) / den, 0.0, 3.0);
}

}  // namespace

std::string_view feature_name(int i) noexcept {
  return i >= 0 && i < stream_feature_count ? names[i] : std::string_view("unknown");
}

stream_features compute_stream_features(std::span<const std::uint64_t> keys) {
  const std::size_t n = keys.size();
  if (n < 2)
    throw invalid_argument("belady::workload::compute_stream_features: keys: " + std::to_string(n) +
                           " accesses, a window needs at least 2");
  std::unordered_map<std::uint64_t, std::uint32_t> last;  // key -> position of its latest access
  std::unordered_map<std::uint64_t, std::uint32_t> count;
  last.reserve(n * 2);
  count.reserve(n * 2);
  fenwick markers(n);
  std::vector<double> distances, times;
  double run = 0, run_sum = 0, run_max = 0;
  std::size_t runs = 0, sequential = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint64_t k = keys[i];
    ++count[k];
    if (i > 0 && (k == keys[i - 1] + 1 || keys[i - 1] == k + 1)) ++sequential;
    const auto it = last.find(k);
    if (it == last.end()) {
      run += 1;
      last.emplace(k, static_cast<std::uint32_t>(i));
    } else {
      if (run > 0) run_sum += run, run_max = std::max(run_max, run), ++runs, run = 0;
      const std::size_t p = it->second;
      distances.push_back(double(markers.prefix(i) - markers.prefix(p + 1)));  // distinct keys in (p, i)
      times.push_back(double(i - p));
      markers.add(p, -1);
      it->second = static_cast<std::uint32_t>(i);
    }
    markers.add(i, +1);
  }
  if (run > 0) run_sum += run, run_max = std::max(run_max, run), ++runs;
  const double distinct = double(last.size());
  const double dn = double(n);

  stream_features f{};
  f[0] = float(distinct / dn);
  f[1] = float(double(distances.size()) / dn);
  std::vector<double> sorted = distances;
  std::sort(sorted.begin(), sorted.end());
  const double qs[] = {0.10, 0.25, 0.50, 0.75, 0.90};
  for (int q = 0; q < 5; ++q) f[2 + q] = float(quantile(sorted, qs[q]) / distinct);
  f[7] = float(cv(distances));
  if (!sorted.empty()) {
    const double median = quantile(sorted, 0.5);
    const double tolerance = std::max(1.0, 0.05 * median);
    const auto close = std::count_if(sorted.begin(), sorted.end(), [&](double d) { return std::abs(d - median) <= tolerance; });
    f[8] = float(double(close) / double(sorted.size()));
  }
  std::vector<std::uint32_t> freq;
  freq.reserve(count.size());
  for (const auto& [key, c] : count) freq.push_back(c);
  std::sort(freq.begin(), freq.end(), std::greater<>());
  f[9] = float(zipf_alpha(freq));
  auto top_share = [&](double share) {
    const auto m = std::max<std::size_t>(1, static_cast<std::size_t>(std::ceil(share * distinct)));
    return double(std::accumulate(freq.begin(), freq.begin() + static_cast<std::ptrdiff_t>(std::min(m, freq.size())), 0.0)) / dn;
  };
  f[10] = float(top_share(0.01));
  f[11] = float(top_share(0.10));
  double entropy = 0;
  for (const std::uint32_t c : freq) {
    const double p = double(c) / dn;
    entropy -= p * std::log(p);
  }
  f[12] = distinct > 1 ? float(entropy / std::log(distinct)) : 0.0f;
  f[13] = runs > 0 ? float(std::log2(1 + run_sum / double(runs)) / std::log2(1 + dn)) : 0.0f;
  f[14] = float(run_max / dn);
  if (!times.empty()) f[15] = float(std::accumulate(times.begin(), times.end(), 0.0) / double(times.size()) / dn);
  f[16] = float(cv(times));
  if (!distances.empty()) {
    const double short_limit = std::max(1.0, 0.01 * distinct);
    f[17] = float(double(std::count_if(distances.begin(), distances.end(), [&](double d) { return d < short_limit; })) /
                  double(distances.size()));
  }
  f[18] = float(double(sequential) / double(n - 1));
  {
    std::unordered_map<std::uint64_t, bool> first_half;
    first_half.reserve(n);
    for (std::size_t i = 0; i < n / 2; ++i) first_half.emplace(keys[i], true);
    std::unordered_map<std::uint64_t, bool> second_half;
    second_half.reserve(n);
    std::size_t fresh = 0;
    for (std::size_t i = n / 2; i < n; ++i)
      if (second_half.emplace(keys[i], true).second && !first_half.count(keys[i])) ++fresh;
    f[19] = second_half.empty() ? 0.0f : float(double(fresh) / double(second_half.size()));
  }
  f[20] = float(autocorrelation(distances));
  return f;
}

}  // namespace belady::workload
