#pragma once
// Fitting belady's inline models from labelled eviction candidates: ridge regression in closed
// form (the linear kind) and a one-hidden-layer ReLU MLP trained with Adam (the mlp kind).
// Both learn y = log2(1 + ticks to the next request), censored at a horizon.
#include <cstdint>
#include <vector>

#include "belady/model/model.hpp"

namespace belady::train {

/// Row-major samples: x has n * feature_count values, y has n labels.
struct dataset {
  std::vector<float> x;
  std::vector<float> y;
  [[nodiscard]] std::size_t size() const { return y.size(); }
};

struct fit_report {
  double train_mse = 0;
  double validation_mse = 0;
  /// Share of validation pairs (i, j) with y_i != y_j whose predicted order matches (eviction
  /// only needs the order right).
  double validation_pairwise_accuracy = 0;
  std::size_t train_samples = 0;
  std::size_t validation_samples = 0;
};

struct ridge_options {
  double lambda = 1e-3;  ///< L2 penalty on standardised features (per sample)
};

struct mlp_options {
  std::uint32_t hidden = 16;
  std::uint32_t epochs = 8;
  std::uint32_t batch = 256;
  float learning_rate = 3e-3f;
  float l2 = 1e-5f;
  std::uint64_t seed = 1;
};

/// Standardisation statistics (mean, 1/std) of the features.
void fit_normalisation(const dataset& d, belady::model::model_params& p);

belady::model::model_params fit_ridge(const dataset& train, const ridge_options& o);
belady::model::model_params fit_mlp(const dataset& train, const mlp_options& o);

/// Predictive quality of `p` on `d`.
void evaluate(const belady::model::model_params& p, const dataset& d, double& mse, double& pairwise_accuracy,
              std::uint64_t seed = 7);

/// Splits off every k-th sample (k = 1 / fraction) as validation.
void split(const dataset& all, double validation_fraction, dataset& train, dataset& validation);

}  // namespace belady::train
