#pragma once
// Seeded synthetic workloads shared by the demo, tests and benchmarks: uniform, zipf(alpha),
// sequential scan, loop, temporal bursts, and phase sequences of them. Header-only; not part of
// the library. The same seed always gives the same sequence.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace belady::workload {

/// uniform: every key of the phase equally likely. zipf: rank r with probability ~ 1/r^alpha.
/// scan: one pass over the keys in order (wraps if requests > keys). loop: cyclic passes.
/// burst: temporal bursts: `burst_width` keys are active at a time, each requested a geometric
/// number of times (mean `burst_length`) and then replaced by a key never seen before.
enum class pattern { uniform, zipf, scan, loop, burst };

inline std::string to_string(pattern p) {
  switch (p) {
    case pattern::uniform: return "uniform";
    case pattern::zipf: return "zipf";
    case pattern::scan: return "scan";
    case pattern::loop: return "loop";
    case pattern::burst: return "burst";
  }
  return "unknown";
}

/// One phase: `requests` accesses following `kind` over `keys` distinct keys starting at
/// `first_key` (so phases can share or avoid keys).
struct phase {
  pattern kind = pattern::zipf;
  std::uint64_t requests = 0;
  std::uint64_t keys = 1;
  std::uint64_t first_key = 0;
  double alpha = 0.9;  ///< zipf exponent
  std::uint64_t burst_width = 16;  ///< burst: keys active at once
  double burst_length = 8.0;       ///< burst: mean requests per key
};

/// Zipf sampler over ranks [0, n) by inverse CDF (exact; O(n) memory, O(log n) per draw).
class zipf_sampler {
 public:
  zipf_sampler(std::uint64_t n, double alpha) : cdf_(n) {
    double sum = 0;
    for (std::uint64_t i = 0; i < n; ++i) cdf_[i] = (sum += 1.0 / std::pow(double(i + 1), alpha));
    for (auto& c : cdf_) c /= sum;
  }
  template <class Rng>
  std::uint64_t operator()(Rng& rng) {
    const double u = std::uniform_real_distribution<double>(0.0, 1.0)(rng);
    return std::min<std::uint64_t>(std::lower_bound(cdf_.begin(), cdf_.end(), u) - cdf_.begin(), cdf_.size() - 1);
  }

 private:
  std::vector<double> cdf_;
};

/// Scrambles a rank into a key, so that popular keys are spread over the hash space the way
/// real ids are (a bijection on 62 bits; never a reserved key).
inline std::uint64_t key_of(std::uint64_t rank) {
  std::uint64_t x = rank * 0x9E3779B97F4A7C15ULL;
  x ^= x >> 29;
  return x & ((std::uint64_t{1} << 62) - 1);
}

/// Generates the whole request sequence of `phases` (keys, already scrambled).
inline std::vector<std::uint64_t> generate(const std::vector<phase>& phases, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::uint64_t> out;
  for (const phase& p : phases) {
    out.reserve(out.size() + p.requests);
    switch (p.kind) {
      case pattern::uniform: {
        std::uniform_int_distribution<std::uint64_t> d(0, p.keys - 1);
        for (std::uint64_t i = 0; i < p.requests; ++i) out.push_back(key_of(p.first_key + d(rng)));
        break;
      }
      case pattern::zipf: {
        zipf_sampler z(p.keys, p.alpha);
        for (std::uint64_t i = 0; i < p.requests; ++i) out.push_back(key_of(p.first_key + z(rng)));
        break;
      }
      case pattern::scan:
        for (std::uint64_t i = 0; i < p.requests; ++i) out.push_back(key_of(p.first_key + i % p.keys));
        break;
      case pattern::loop:
        for (std::uint64_t i = 0; i < p.requests; ++i) out.push_back(key_of(p.first_key + i % p.keys));
        break;
      case pattern::burst: {
        std::geometric_distribution<std::uint64_t> length(1.0 / std::max(1.0, p.burst_length));
        std::uniform_int_distribution<std::uint64_t> pick(0, std::max<std::uint64_t>(p.burst_width, 1) - 1);
        std::vector<std::uint64_t> active(std::max<std::uint64_t>(p.burst_width, 1)), left(active.size());
        std::uint64_t next = 0;
        for (std::size_t a = 0; a < active.size(); ++a) {
          active[a] = next++;
          left[a] = 1 + length(rng);
        }
        for (std::uint64_t i = 0; i < p.requests; ++i) {
          const std::size_t a = pick(rng);
          out.push_back(key_of(p.first_key + active[a]));
          if (--left[a] == 0) {
            active[a] = next++;
            left[a] = 1 + length(rng);
          }
        }
        break;
      }
    }
  }
  return out;
}

}  // namespace belady::workload
