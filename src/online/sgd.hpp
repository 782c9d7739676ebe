#pragma once
// Incremental training of the inline model for online learning: Adam warm-started from the active
// model, on mean squared error with L1 (proximal) and L2 penalties and a bounded step, so that one
// round moves the model by a limited amount and a bad round cannot silently install garbage.
#include <cstddef>
#include <cstdint>

#include "belady/model/model.hpp"

namespace belady::online {

struct sgd_options {
  float learning_rate = 1e-2f;      ///< Adam's step size; clamped to [1e-6, max_learning_rate]
  float max_learning_rate = 0.05f;  ///< the bound: a larger learning_rate is clamped, never used
  float l1 = 1e-6f;                 ///< L1 penalty on weights (proximal soft-threshold step), not biases
  float l2 = 1e-4f;                 ///< L2 penalty on weights, not biases
  std::uint32_t epochs = 2;         ///< passes over the rows; 0 returns the prepared start unchanged
  std::uint32_t batch = 256;        ///< rows per Adam step (>= 1)
  std::uint64_t seed = 1;           ///< shuffling (and an all-zero MLP's initialisation): the same
                                    ///< seed and data give a bit-identical model
};

struct sgd_report {
  double loss_before = 0;  ///< mean squared error of the start as prepared (see sgd_update)
  double loss_after = 0;   ///< mean squared error of the result (penalties not included)
  std::size_t samples = 0;
};

/**
 * @brief Trains on rows x[i * feature_count ...] with labels y[i], starting from `start`.
 *
 * `start` must pass model::validate: a linear or mlp model, or an int8 kind, which is first
 * dequantized (dequantized()). The result is the fp32 kind (linear or mlp, same hidden width)
 * and passes model::validate. Preparing the start:
 * - Its input normalisation is kept when usable: every mean and inv_std finite, every inv_std
 *   >= 0 and not all of them 0. Keeping it keeps the meaning of the start's weights. A feature
 *   the start silences (inv_std 0, as the offline trainer does for a feature constant in its
 *   data) but that varies in these rows gets the rows' mean and 1/std, and its weights are zeroed,
 *   so the start still predicts the same and the feature can now be learned.
 * - Otherwise (e.g. a default-constructed model_params: training from scratch) mean and inv_std
 *   are fitted to the rows and the output bias starts at the label mean; the start's weights are
 *   kept as initial values. A feature whose standard deviation in the rows is below 1e-6 gets
 *   inv_std 0 rather than 1/1e-6: scaling a constant by a million would turn its first variation
 *   in a later round into a huge input.
 * - An mlp start whose w1 and w2 are all zero would never move (no ReLU is on, so no gradient
 *   flows): it is initialised randomly from `options.seed` (He initialisation).
 *
 * Then minimises mean squared error + l2 * sum w^2 + l1 * sum |w| with Adam over shuffled
 * minibatches. Predictions come from model::predict, so the objective is what inference computes.
 * @throw std::runtime_error when n is 0, a label or feature is NaN or infinite (naming the row),
 *        or the loss, a gradient or a weight becomes non-finite (the updates diverged)
 * @throw belady::invalid_argument when `options` is unusable (NaN rates, negative penalties,
 *        batch 0)
 * @throw model::invalid_model when `start` fails model::validate
 */
[[nodiscard]] model::model_params sgd_update(const model::model_params& start, const float* x, const float* y,
                                             std::size_t n, const sgd_options& options,
                                             sgd_report* report = nullptr);

/// Mean squared error of `p` on the rows (NaN when n is 0).
[[nodiscard]] double mean_squared_error(const model::model_params& p, const float* x, const float* y, std::size_t n);

/// Share of random pairs (i, j) with y_i != y_j whose predicted order matches (a tie in the
/// predictions counts as wrong): what eviction by the largest prediction needs. Draws at most
/// 4 * `pairs` pairs to find up to `pairs` with different labels; NaN when it finds none.
[[nodiscard]] double pairwise_accuracy(const model::model_params& p, const float* x, const float* y, std::size_t n,
                                       std::size_t pairs = 20'000, std::uint64_t seed = 7);

/// The fp32 equivalent of an int8 model (linear_int8 -> linear, mlp_int8 -> mlp; the int8 fields
/// zeroed); other kinds are returned unchanged. Predictions agree up to float rounding.
[[nodiscard]] model::model_params dequantized(const model::model_params& p);

}  // namespace belady::online
