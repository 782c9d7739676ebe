// The host backend's eviction arithmetic: the features and the model's prediction for each of an
// eviction's candidates, eight candidates per vector with GCC vector extensions.
//
// Why by hand: left to itself GCC vectorised little of slot_features_block (perf counted ~900
// scalar float instructions per eviction; the arithmetic was 30 of the 40 points the learned
// policy lost to LRU on insert). Each lane takes exactly the operations, in the same order, of the
// scalar slot_features() and predict() (ISO C++ mode: no contraction into fused multiply-adds;
// target("avx2") does not enable FMA), so the values are bit-identical to the device's and the
// trainers', which tests/learned/learned_policy_test.cpp checks for both instruction sets.
#include "host/candidate_scoring.hpp"

#include <bit>
#include <cstring>

#include "belady/detail/table.hpp"
#include "belady/model/features.hpp"
#include "belady/model/model.hpp"

#pragma GCC diagnostic ignored "-Wpsabi"  // 32-byte vectors never cross a non-inlined call

#if defined(__x86_64__) || defined(__i386__)
#define BELADY_HAVE_AVX2_PATH 1
#else
#define BELADY_HAVE_AVX2_PATH 0
#endif

namespace belady::detail {
namespace {

using vf = float __attribute__((vector_size(32)));
using vi = std::int32_t __attribute__((vector_size(32)));
using vu = std::uint32_t __attribute__((vector_size(32)));
constexpr int lanes = 8;

#define BELADY_VEC_INLINE inline __attribute__((always_inline))

BELADY_VEC_INLINE vf splat(float x) { return vf{} + x; }
BELADY_VEC_INLINE vu bits(const vf& x) { return std::bit_cast<vu>(x); }
BELADY_VEC_INLINE vf from_bits(const vu& x) { return std::bit_cast<vf>(x); }
BELADY_VEC_INLINE vf load(const float* p) {
  vf v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// model::fast_log2, lane by lane.
BELADY_VEC_INLINE vf fast_log2(const vf& x) {
  const vu b = bits(x);
  const vf e = __builtin_convertvector(std::bit_cast<vi>((b >> 23) & 0xffu) - 127, vf);
  const vf m = from_bits((b & 0x7fffffu) | 0x3f800000u);
  const vf t = (m - 1.0f) / (m + 1.0f);
  const vf t2 = t * t;
  return e + 2.8853900817779268f * t * (1.0f + t2 * (1.0f / 3 + t2 * (1.0f / 5 + t2 * (1.0f / 7))));
}

// model::log2p1.
BELADY_VEC_INLINE vf log2p1(const vf& x) { return fast_log2(1.0f + (x > splat(0.0f) ? x : splat(0.0f))); }

// model::exp2_neg.
BELADY_VEC_INLINE vf exp2_neg(const vf& x) {
  const vi underflow = ~(-x > splat(-126.0f));  // also NaN
  const vf y = underflow ? splat(0.0f) : -x;
  const vi yi = __builtin_convertvector(y, vi);
  const vf fl = __builtin_convertvector(yi - ((y < __builtin_convertvector(yi, vf)) & 1), vf);
  const vf f = y - fl;
  const vf p = 1.0f + f * (0.69314718f + f * (0.24022651f + f * (0.05550411f + f * (0.00961813f +
                                                                  f * (0.00133336f + f * 0.00015404f)))));
  const vf r = from_bits(bits(p) + (std::bit_cast<vu>(__builtin_convertvector(fl, vi)) << 23));
  return underflow ? splat(0.0f) : r;
}

// model::predict_block's arithmetic on normalised inputs x[i] (feature i of the eight lanes).
BELADY_VEC_INLINE vf predict8(const model::model_params& p, const vf* x) {
  using model::feature_count;
  switch (p.kind) {
    case model::model_kind::linear: {
      vf y = splat(p.bias);
      for (int i = 0; i < feature_count; ++i) y += p.w[i] * x[i];
      return y;
    }
    case model::model_kind::linear_int8: {
      vf acc = splat(0.0f);
      for (int i = 0; i < feature_count; ++i) acc += static_cast<float>(p.qw[i]) * x[i];
      return p.bias + acc * p.qw_scale;
    }
    case model::model_kind::mlp: {
      vf y = splat(p.b2);
      for (std::uint32_t h = 0; h < p.hidden; ++h) {
        vf a = splat(p.b1[h]);
        for (int i = 0; i < feature_count; ++i) a += p.w1[h][i] * x[i];
        y += p.w2[h] * (a > splat(0.0f) ? a : splat(0.0f));
      }
      return y;
    }
    case model::model_kind::mlp_int8: {
      vf acc2 = splat(0.0f);
      for (std::uint32_t h = 0; h < p.hidden; ++h) {
        vf acc = splat(0.0f);
        for (int i = 0; i < feature_count; ++i) acc += static_cast<float>(p.qw1[h][i]) * x[i];
        const vf a = p.b1[h] + acc * p.qw1_scale[h];
        acc2 += static_cast<float>(p.qw2[h]) * (a > splat(0.0f) ? a : splat(0.0f));
      }
      return p.b2 + acc2 * p.qw2_scale;
    }
  }
  return splat(0.0f);
}

// Eight candidates: the loads and integer-to-float conversions one slot at a time (the same
// conversions slot_features_block makes), the rest eight lanes at once.
BELADY_VEC_INLINE void score8(const slot_meta* const* metas, const model::eviction_context& ctx,
                              const model::model_params& p, float* y) {
  float delta_s[lanes], age_s[lanes], count_s[lanes], gap1_s[lanes], gap2_s[lanes], sketch_s[lanes],
      ghost_s[lanes], since_write_s[lanes], decayed_s[lanes];
  for (int j = 0; j < lanes; ++j) {
    const slot_meta& m = *metas[j];
    delta_s[j] = static_cast<float>(ctx.now - m.last_access);
    age_s[j] = static_cast<float>(ctx.now - m.insert_time);
    count_s[j] = static_cast<float>(m.access_count);
    gap1_s[j] = m.last_gap == no_gap ? 0.0f : static_cast<float>(m.last_gap);
    gap2_s[j] = m.prev_gap == no_gap ? 0.0f : static_cast<float>(m.prev_gap);
    sketch_s[j] = static_cast<float>(m.sketch_count);
    ghost_s[j] = (m.flags & ghost_on_insert) != 0 ? 1.0f : 0.0f;
    since_write_s[j] = static_cast<float>(ctx.now - m.last_write);
    decayed_s[j] = m.decayed_count;
  }
  const vf delta = load(delta_s), age = load(age_s), count = load(count_s), gap1 = load(gap1_s),
           gap2 = load(gap2_s);
  const vf one = splat(1.0f);
  const vf mean_gap = age / (count > one ? count : one);
  vf f[model::feature_count];
  f[0] = log2p1(delta);
  f[1] = log2p1(gap1);
  f[2] = log2p1(gap2);
  f[3] = log2p1(count);
  f[4] = log2p1(age);
  f[5] = log2p1(mean_gap);
  f[6] = log2p1(mean_gap > delta ? mean_gap - delta : splat(0.0f));
  f[7] = log2p1(delta > mean_gap ? delta - mean_gap : splat(0.0f));
  f[8] = f[1] - f[2];
  const vf ratio = delta / (1.0f + gap1);
  f[9] = ratio < splat(64.0f) ? ratio : splat(64.0f);
  f[10] = count <= one ? one : splat(0.0f);
  f[11] = log2p1(load(sketch_s));
  f[12] = load(ghost_s);
  f[13] = splat(ctx.occupancy);
  f[14] = log2p1(load(since_write_s));
  f[15] = load(decayed_s) * exp2_neg(delta / ctx.decay_half_life);
  for (int i = 0; i < model::feature_count; ++i) f[i] = (f[i] - p.mean[i]) * p.inv_std[i];
  const vf out = predict8(p, f);
  std::memcpy(y, &out, sizeof out);
}

// Blocks of eight; a short last block repeats its last candidate in the unused lanes.
BELADY_VEC_INLINE void score_all(const slot_meta* const* metas, std::uint32_t n, const model::eviction_context& ctx,
                                 const model::model_params& p, float* y) {
  for (std::uint32_t c0 = 0; c0 < n; c0 += lanes) {
    const slot_meta* block[lanes];
    for (std::uint32_t j = 0; j < lanes; ++j) block[j] = metas[c0 + j < n ? c0 + j : n - 1];
    float out[lanes];
    score8(block, ctx, p, out);
    for (std::uint32_t j = 0; j < lanes && c0 + j < n; ++j) y[c0 + j] = out[j];
  }
}

using score_fn = void (*)(const slot_meta* const*, std::uint32_t, const model::eviction_context&,
                          const model::model_params&, float*);

}  // namespace

void score_candidates_baseline(const slot_meta* const* metas, std::uint32_t n, const model::eviction_context& ctx,
                               const model::model_params& p, float* y) {
  score_all(metas, n, ctx, p, y);
}

#if BELADY_HAVE_AVX2_PATH
__attribute__((target("avx2"))) void score_candidates_avx2(const slot_meta* const* metas, std::uint32_t n,
                                                           const model::eviction_context& ctx,
                                                           const model::model_params& p, float* y) {
  score_all(metas, n, ctx, p, y);
}
bool host_scoring_has_avx2() {
  __builtin_cpu_init();  // harmless when the runtime has already run it
  return __builtin_cpu_supports("avx2");
}
#else
void score_candidates_avx2(const slot_meta* const* metas, std::uint32_t n, const model::eviction_context& ctx,
                           const model::model_params& p, float* y) {
  score_all(metas, n, ctx, p, y);
}
bool host_scoring_has_avx2() { return false; }
#endif

void score_candidates_host(const slot_meta* const* metas, std::uint32_t n, const model::eviction_context& ctx,
                           const model::model_params& p, float* y) {
  // Chosen once, on first use (not at static initialisation, which another translation unit's
  // initialiser could precede).
  static const score_fn selected = host_scoring_has_avx2() ? score_candidates_avx2 : score_candidates_baseline;
  selected(metas, n, ctx, p, y);
}

}  // namespace belady::detail
