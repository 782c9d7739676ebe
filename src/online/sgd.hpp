#pragma once
// Incremental training of the inline model for online learning: Adam warm-started from the active
// model, on mean squared error with L1 (proximal) and L2 penalties and a bounded step.
#include <cstddef>
#include <cstdint>

#include "belady/model/model.hpp"

namespace belady::online {

struct sgd_options {
  float learning_rate = 1e-2f;      ///< Adam's step size; clamped to [1e-6, max_learning_rate]
  float max_learning_rate = 0.05f;  ///< the bound: a larger learning_rate is never used
  float l1 = 1e-6f;                 ///< L1 penalty on weights (soft-threshold step), not biases
  float l2 = 1e-4f;                 ///< L2 penalty on weights
  std::uint32_t epochs = 2;
  std::uint32_t batch = 256;
  std::uint64_t seed = 1;           ///< shuffling: the same seed and data give the same model
};

struct sgd_report {
  double loss_before = 0;  ///< mean squared error of the start model (after normalisation fit)
  double loss_after = 0;
  std::size_t samples = 0;
};

/**
 * @brief Trains on rows x[i * feature_count ...] with labels y[i], starting from `start`.
 *
 * `start` is a model of any kind (int8 kinds are dequantized first); the result is its fp32 kind
 * (linear or mlp, same hidden width). The start's input normalisation is kept when usable (every
 * inv_std finite and positive), otherwise fitted to the data, so a default-constructed linear
 * model means training from scratch.
 * @throw std::runtime_error when n is 0, or when the loss or a weight becomes non-finite
 */
model::model_params sgd_update(const model::model_params& start, const float* x, const float* y, std::size_t n,
                               const sgd_options& options, sgd_report* report = nullptr);

/// Mean squared error of `p` on the rows.
double mean_squared_error(const model::model_params& p, const float* x, const float* y, std::size_t n);

/// Share of up to `pairs` random pairs (i, j) with y_i != y_j whose predicted order matches.
double pairwise_accuracy(const model::model_params& p, const float* x, const float* y, std::size_t n,
                         std::size_t pairs = 20'000, std::uint64_t seed = 7);

/// The fp32 equivalent of an int8 model (the same predictions up to rounding); others unchanged.
model::model_params dequantized(const model::model_params& p);

}  // namespace belady::online
