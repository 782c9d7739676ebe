#pragma once
/// @file
/// The features the learned policy sees for one resident slot at eviction time. Host+device code:
/// the kernels compute them inline for every candidate of a full bucket, and the trainers compute
/// the same values from replayed metadata. Times are logical (one tick per batch call).
///
/// |  # | name              | meaning |
/// |----|-------------------|---------|
/// |  0 | log_delta         | log2(1 + Δ), Δ = now − last access (recency) |
/// |  1 | log_gap1          | log2(1 + last inter-access gap) (0 if accessed once) |
/// |  2 | log_gap2          | log2(1 + the gap before that) |
/// |  3 | log_count         | log2(1 + accesses since insertion) |
/// |  4 | log_age           | log2(1 + now − insert time) |
/// |  5 | log_mean_gap      | log2(1 + G), G = age / accesses: the running mean gap |
/// |  6 | phase_early       | log2(1 + max(G − Δ, 0)): next access expected soon |
/// |  7 | phase_late        | log2(1 + max(Δ − G, 0)): overdue, likely gone cold |
/// |  8 | gap_trend         | log_gap1 − log_gap2: gaps growing (>0) or shrinking |
/// |  9 | delta_over_gap    | min(Δ / (1 + last gap), 64) |
/// | 10 | once              | 1 if the key was accessed only once |
/// | 11 | log_sketch        | log2(1 + frequency-sketch estimate when the key entered the cache): |
/// |    |                   | its popularity before this stay (the sketch counts misses and inserts; |
/// |    |                   | the stay's hits are in log_count and decayed_count) |
/// | 12 | ghost             | 1 if the key had been evicted recently when it was (re)inserted |
/// | 13 | occupancy         | fraction of the bucket in use |
/// | 14 | log_since_write   | log2(1 + now − last value write) |
/// | 15 | decayed_count     | access count with exponential decay as of now (half-life configurable) |
///
/// Object size is not a feature: every value in a cache is `dim` wide.
#include <cstdint>

#include "belady/detail/macros.hpp"
#include "belady/detail/table.hpp"

#include <cstring>

namespace belady::model {

inline constexpr int feature_count = 16;

/// Indices of the features in the table above (for hand-made models and tests).
namespace feature {
inline constexpr int log_delta = 0, log_gap1 = 1, log_gap2 = 2, log_count = 3, log_age = 4, log_mean_gap = 5,
                     phase_early = 6, phase_late = 7, gap_trend = 8, delta_over_gap = 9, once = 10, log_sketch = 11,
                     ghost = 12, occupancy = 13, log_since_write = 14, decayed_count = 15;
}  // namespace feature

/// The features use these two approximations instead of the math library on purpose: the same
/// arithmetic on the host and the device (so a model trained through one backend sees the same
/// features on the other), and about 10x cheaper than std::log2 / std::exp2 on the host, where
/// an eviction evaluates ~20 of them per candidate. Errors: |log2| < 2e-5, relative exp2 < 2e-5.
BELADY_HD BELADY_INLINE std::uint32_t float_bits(float x) {
  std::uint32_t b;
  std::memcpy(&b, &x, sizeof b);
  return b;
}
BELADY_HD BELADY_INLINE float bits_float(std::uint32_t b) {
  float x;
  std::memcpy(&x, &b, sizeof x);
  return x;
}

/// log2(x) for x >= 1 (finite): the exponent, plus log2 of the mantissa m in [1, 2) from the
/// atanh series 2/ln2 (t + t^3/3 + t^5/5 + t^7/7), t = (m - 1) / (m + 1) < 1/3.
BELADY_HD BELADY_INLINE float fast_log2(float x) {
  const std::uint32_t b = float_bits(x);
  const float e = static_cast<float>(static_cast<int>((b >> 23) & 0xffu) - 127);
  const float m = bits_float((b & 0x7fffffu) | 0x3f800000u);
  const float t = (m - 1.0f) / (m + 1.0f);
  const float t2 = t * t;
  return e + 2.8853900817779268f * t * (1.0f + t2 * (1.0f / 3 + t2 * (1.0f / 5 + t2 * (1.0f / 7))));
}

BELADY_HD BELADY_INLINE float log2p1(float x) { return fast_log2(1.0f + (x > 0.0f ? x : 0.0f)); }

/// 2^-x for x >= 0: integer part through the exponent, fraction by a degree-6 polynomial.
/// Branch-free (selects, not an early return) so that loops over it vectorise.
BELADY_HD BELADY_INLINE float exp2_neg(float x) {
  const bool underflow = !(-x > -126.0f);  // also NaN
  const float y = underflow ? 0.0f : -x;
  const int yi = static_cast<int>(y);
  const float fl = static_cast<float>(yi - (y < static_cast<float>(yi) ? 1 : 0));
  const float f = y - fl;  // [0, 1)
  // 2^f = e^(f ln2): Taylor to degree 6 (coefficients ln2^k / k!).
  const float p = 1.0f + f * (0.69314718f + f * (0.24022651f + f * (0.05550411f + f * (0.00961813f +
                                                                        f * (0.00133336f + f * 0.00015404f)))));
  const float r = bits_float(float_bits(p) + (static_cast<std::uint32_t>(static_cast<int>(fl)) << 23));
  return underflow ? 0.0f : r;
}

/// Context of one eviction decision.
struct eviction_context {
  std::uint64_t now;
  float occupancy;        ///< fraction of the bucket in use
  float decay_half_life;  ///< of the decayed counter, in ticks
};

/// The decayed access count as of `now`.
BELADY_HD BELADY_INLINE float decayed_at(const detail::slot_meta& m, std::uint64_t now, float half_life) {
  return m.decayed_count * exp2_neg(static_cast<float>(now - m.last_access) / half_life);
}

/// Features of N slots at once, feature-major: f[i * N + j] is feature i of *slots[j]. The loads
/// come first (independent, so their cache misses overlap), then one loop over j per feature,
/// which the host compiler vectorises. slot_features() is the N = 1 case: the host's batched
/// eviction, the device's one-candidate-per-lane eviction and the trainers compute the same values.
template <int N>
BELADY_HD BELADY_INLINE void slot_features_block(const detail::slot_meta* const* slots, const eviction_context& ctx,
                                                 float* f) {
  float delta[N], age[N], count[N], gap1[N], gap2[N], sketch[N], ghost[N], since_write[N], decayed[N];
  for (int j = 0; j < N; ++j) {
    const detail::slot_meta& m = *slots[j];
    delta[j] = static_cast<float>(ctx.now - m.last_access);
    age[j] = static_cast<float>(ctx.now - m.insert_time);
    count[j] = static_cast<float>(m.access_count);
    gap1[j] = m.last_gap == detail::no_gap ? 0.0f : static_cast<float>(m.last_gap);
    gap2[j] = m.prev_gap == detail::no_gap ? 0.0f : static_cast<float>(m.prev_gap);
    sketch[j] = static_cast<float>(m.sketch_count);
    ghost[j] = (m.flags & detail::ghost_on_insert) != 0 ? 1.0f : 0.0f;
    since_write[j] = static_cast<float>(ctx.now - m.last_write);
    decayed[j] = m.decayed_count;
  }
  for (int j = 0; j < N; ++j) {
    const float mean_gap = age[j] / (count[j] > 1.0f ? count[j] : 1.0f);
    f[0 * N + j] = log2p1(delta[j]);
    f[1 * N + j] = log2p1(gap1[j]);
    f[2 * N + j] = log2p1(gap2[j]);
    f[3 * N + j] = log2p1(count[j]);
    f[4 * N + j] = log2p1(age[j]);
    f[5 * N + j] = log2p1(mean_gap);
    f[6 * N + j] = log2p1(mean_gap > delta[j] ? mean_gap - delta[j] : 0.0f);
    f[7 * N + j] = log2p1(delta[j] > mean_gap ? delta[j] - mean_gap : 0.0f);
    f[8 * N + j] = f[1 * N + j] - f[2 * N + j];
    const float ratio = delta[j] / (1.0f + gap1[j]);
    f[9 * N + j] = ratio < 64.0f ? ratio : 64.0f;
    f[10 * N + j] = count[j] <= 1.0f ? 1.0f : 0.0f;
    f[11 * N + j] = log2p1(sketch[j]);
    f[12 * N + j] = ghost[j];
    f[13 * N + j] = ctx.occupancy;
    f[14 * N + j] = log2p1(since_write[j]);
    f[15 * N + j] = decayed[j] * exp2_neg(delta[j] / ctx.decay_half_life);
  }
}

BELADY_HD BELADY_INLINE void slot_features(const detail::slot_meta& m, const eviction_context& ctx, float* f) {
  const detail::slot_meta* one = &m;
  slot_features_block<1>(&one, ctx, f);
}

}  // namespace belady::model
