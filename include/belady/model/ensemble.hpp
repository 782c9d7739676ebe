#pragma once
/// @file
/// belady::model::weighted_ensemble: one model whose prediction is a weighted mean of several
/// models' predictions, so a kernel still evaluates a single model inline (workload
/// specialisation's confidence-weighted ensemble, docs/workload.md).
#include <span>

#include "belady/model/model.hpp"
#include "belady/types.hpp"

namespace belady::model {

/**
 * @brief A model predicting sum_k weights[k] * predict(models[k], x) / sum_k weights[k].
 *
 * Exact up to float rounding: every input model is re-expressed in one normalisation (the first
 * model's, feature by feature the first whose inv_std is not 0). Linear models combine into a
 * linear model. When any input is an MLP the result is an MLP whose hidden layer is the inputs'
 * hidden units side by side (a linear model w.z takes two units: relu(w.z) - relu(-w.z)), so
 * their units together must fit in max_hidden. Weights of 0 drop a model.
 *
 * @throw belady::invalid_argument when models is empty or its size differs from weights', a
 *        weight is negative or not finite, all weights are 0, an input is int8-quantized, or the
 *        hidden units do not fit (the message gives the count)
 * @throw belady::invalid_model when an input fails validate()
 */
[[nodiscard]] BELADY_API model_params weighted_ensemble(std::span<const model_params* const> models,
                                                        std::span<const double> weights);

}  // namespace belady::model
