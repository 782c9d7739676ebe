#pragma once
/// @file
/// The learned policy's model: an immutable, versioned, plain-data parameter block and the
/// host+device predict() the kernels call inline. Four kinds: linear and a one-hidden-layer MLP
/// (up to 32 ReLU units), each in fp32 or with int8-quantized weights.
///
/// The model predicts y = log2(1 + time to the key's next request), in logical ticks: the
/// larger, the better a slot is to evict (Belady's rule).
#include <cstdint>

#include "belady/detail/macros.hpp"
#include "belady/model/features.hpp"

namespace belady::model {

inline constexpr std::uint32_t format_magic = 0x4d444c42u;  // "BLDM" little-endian
inline constexpr std::uint32_t format_version = 1;
inline constexpr int max_hidden = 32;

enum class model_kind : std::uint32_t {
  linear = 1,      ///< y = w·x + b
  mlp = 2,         ///< y = w2·relu(W1 x + b1) + b2
  linear_int8 = 3, ///< linear, weights int8 with one scale
  mlp_int8 = 4,    ///< mlp, W1 rows int8 with per-row scales, w2 int8 with one scale
};

/// Everything predict() reads. Trivially copyable: copied to device memory as is.
struct model_params {
  std::uint32_t magic = format_magic;
  std::uint32_t version = format_version;
  model_kind kind = model_kind::linear;
  std::uint32_t features = feature_count;
  std::uint32_t hidden = 0;  ///< mlp kinds: units in use (1..max_hidden)
  std::uint32_t reserved = 0;
  float mean[feature_count] = {};     ///< input normalisation: x' = (x - mean) * inv_std
  float inv_std[feature_count] = {};
  // fp32 weights (linear: w/bias; mlp: w1/b1/w2/b2)
  float w[feature_count] = {};
  float bias = 0;
  float w1[max_hidden][feature_count] = {};
  float b1[max_hidden] = {};
  float w2[max_hidden] = {};
  float b2 = 0;
  // int8 weights: value = q * scale
  std::int8_t qw[feature_count] = {};
  std::int8_t qw1[max_hidden][feature_count] = {};
  std::int8_t qw2[max_hidden] = {};
  float qw_scale = 0;
  float qw1_scale[max_hidden] = {};
  float qw2_scale = 0;
};

/// Predictions for N feature vectors at once, feature-major (x_raw[i * N + j] is feature i of
/// vector j; slot_features_block writes this layout). The loops over j let the host compiler
/// vectorise an eviction's candidates; each y[j] takes exactly the operations, in the same order,
/// that predict() takes for one vector, so the values are the same.
template <int N>
BELADY_HD BELADY_INLINE void predict_block(const model_params& p, const float* x_raw, float* y) {
  float x[feature_count * N];
  for (int i = 0; i < feature_count; ++i)
    for (int j = 0; j < N; ++j) x[i * N + j] = (x_raw[i * N + j] - p.mean[i]) * p.inv_std[i];
  switch (p.kind) {
    case model_kind::linear: {
      for (int j = 0; j < N; ++j) y[j] = p.bias;
      for (int i = 0; i < feature_count; ++i)
        for (int j = 0; j < N; ++j) y[j] += p.w[i] * x[i * N + j];
      return;
    }
    case model_kind::linear_int8: {
      float acc[N];
      for (int j = 0; j < N; ++j) acc[j] = 0;
      for (int i = 0; i < feature_count; ++i)
        for (int j = 0; j < N; ++j) acc[j] += static_cast<float>(p.qw[i]) * x[i * N + j];
      for (int j = 0; j < N; ++j) y[j] = p.bias + acc[j] * p.qw_scale;
      return;
    }
    case model_kind::mlp: {
      for (int j = 0; j < N; ++j) y[j] = p.b2;
      for (std::uint32_t h = 0; h < p.hidden; ++h) {
        float a[N];
        for (int j = 0; j < N; ++j) a[j] = p.b1[h];
        for (int i = 0; i < feature_count; ++i)
          for (int j = 0; j < N; ++j) a[j] += p.w1[h][i] * x[i * N + j];
        for (int j = 0; j < N; ++j) y[j] += p.w2[h] * (a[j] > 0.0f ? a[j] : 0.0f);
      }
      return;
    }
    case model_kind::mlp_int8: {
      float acc2[N];
      for (int j = 0; j < N; ++j) acc2[j] = 0;
      for (std::uint32_t h = 0; h < p.hidden; ++h) {
        float acc[N];
        for (int j = 0; j < N; ++j) acc[j] = 0;
        for (int i = 0; i < feature_count; ++i)
          for (int j = 0; j < N; ++j) acc[j] += static_cast<float>(p.qw1[h][i]) * x[i * N + j];
        for (int j = 0; j < N; ++j) {
          const float a = p.b1[h] + acc[j] * p.qw1_scale[h];
          acc2[j] += static_cast<float>(p.qw2[h]) * (a > 0.0f ? a : 0.0f);
        }
      }
      for (int j = 0; j < N; ++j) y[j] = p.b2 + acc2[j] * p.qw2_scale;
      return;
    }
  }
  for (int j = 0; j < N; ++j) y[j] = 0.0f;
}

/// True when the model orders any set of slots exactly as their time since last access does
/// (a linear model whose only weight is a positive one on log_delta): the online learner's
/// recency baseline is one. The cache then evicts the least recently used slot of the whole
/// bucket (its scores are last-access times under this policy) instead of the least recent of a
/// sample of candidates: the same rule, exact and cheaper.
inline bool ranks_by_recency_alone(const model_params& p) {
  if (p.kind != model_kind::linear || !(p.w[0] * p.inv_std[0] > 0.0f)) return false;
  for (int i = 1; i < feature_count; ++i)
    if (p.w[i] != 0.0f) return false;
  return true;
}

/// The model's prediction for one feature vector.
BELADY_HD BELADY_INLINE float predict(const model_params& p, const float* x_raw) {
  float y;
  predict_block<1>(p, x_raw, &y);
  return y;
}

}  // namespace belady::model
