#pragma once
// Seeded synthetic windows of each workload class, for fitting the workload classifier
// (belady-workload-train) and for its held-out tests. A window is what the classifier sees: a
// run of accesses (of the sampled stream, in the cache). Parameters are drawn per window so that
// each class covers a range: uniform over 0.25..4 windows' worth of keys, zipf alpha 0.6..1.4,
// scans over fresh keys (half of them with consecutive raw keys, as block addresses are), loops
// of 1/32..2/3 of a window, and mixes of two different pure classes at a 0.3..0.7 blend.
#include <algorithm>
#include <array>
#include <cstdint>
#include <random>
#include <vector>

#include "belady/workload.hpp"
#include "common/synthetic.hpp"

namespace belady::workload_lab {

using belady::workload::base_class_count;
using belady::workload::workload_class;

struct window {
  std::vector<std::uint64_t> keys;
  workload_class label = workload_class::uniform;
  std::array<double, base_class_count> blend{};  ///< shares of the pure classes
};

inline std::vector<std::uint64_t> pure_stream(workload_class c, std::size_t n, std::uint64_t key_base, std::mt19937_64& rng) {
  using belady::workload::pattern;
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<std::uint64_t> out;
  out.reserve(n);
  auto scaled = [&](double lo, double hi) { return std::max<std::uint64_t>(2, std::uint64_t(double(n) * (lo + (hi - lo) * u(rng)))); };
  switch (c) {
    case workload_class::uniform: {
      std::uniform_int_distribution<std::uint64_t> d(0, scaled(0.25, 4.0) - 1);
      for (std::size_t i = 0; i < n; ++i) out.push_back(belady::workload::key_of(key_base + d(rng)));
      break;
    }
    case workload_class::zipfian: {
      belady::workload::zipf_sampler z(scaled(1.0, 30.0), 0.6 + 0.8 * u(rng));
      for (std::size_t i = 0; i < n; ++i) out.push_back(belady::workload::key_of(key_base + z(rng)));
      break;
    }
    case workload_class::scan: {
      const bool raw = u(rng) < 0.5;  // consecutive raw keys (block addresses) or scrambled ids
      for (std::size_t i = 0; i < n; ++i) out.push_back(raw ? key_base + i + 1 : belady::workload::key_of(key_base + i));
      break;
    }
    case workload_class::looping: {
      const std::uint64_t length = scaled(1.0 / 32, 2.0 / 3);
      for (std::size_t i = 0; i < n; ++i) out.push_back(belady::workload::key_of(key_base + i % length));
      break;
    }
    case workload_class::mixed:
      break;
  }
  return out;
}

inline window make_window(workload_class c, std::size_t n, std::mt19937_64& rng) {
  window w;
  w.label = c;
  // Disjoint key ranges per stream: a mix's parts never share keys by accident.
  std::uint64_t base = (rng() >> 20) << 20;
  if (c != workload_class::mixed) {
    w.keys = pure_stream(c, n, base, rng);
    w.blend[static_cast<int>(c)] = 1;
    return w;
  }
  std::uniform_int_distribution<int> pick(0, base_class_count - 1);
  const int a = pick(rng);
  int b = pick(rng);
  while (b == a) b = pick(rng);
  const double share = std::uniform_real_distribution<double>(0.3, 0.7)(rng);
  const auto sa = pure_stream(static_cast<workload_class>(a), n, base, rng);
  const auto sb = pure_stream(static_cast<workload_class>(b), n, base + (std::uint64_t{1} << 40), rng);
  std::bernoulli_distribution from_a(share);
  std::size_t ia = 0, ib = 0;
  for (std::size_t i = 0; i < n; ++i) w.keys.push_back(from_a(rng) ? sa[ia++] : sb[ib++]);
  w.blend[a] = double(ia) / double(n);
  w.blend[b] = double(ib) / double(n);
  return w;
}

/// `per_class` windows of every class, shuffled, from `seed`.
inline std::vector<window> make_windows(std::size_t per_class, std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<window> out;
  for (std::size_t i = 0; i < per_class; ++i)
    for (int c = 0; c < belady::workload::class_count; ++c) out.push_back(make_window(static_cast<workload_class>(c), n, rng));
  std::shuffle(out.begin(), out.end(), rng);
  return out;
}

}  // namespace belady::workload_lab
