#pragma once
/// @file
/// A libtorch trainer for belady's inline MLP (component belady::torch): autograd and Adam over
/// minibatches, exported into model::model_params (kind mlp) that the cache's kernels run. An
/// alternative to the built-in trainers (belady-train's fit_mlp and online learning's
/// sgd_update); docs/torch.md compares them.
#include <cstddef>
#include <cstdint>

#include "belady/model/model.hpp"
#include "belady/types.hpp"

namespace belady::tensor {

struct mlp_train_options {
  std::uint32_t hidden = 16;       ///< 1..model::max_hidden
  std::uint32_t epochs = 8;
  std::uint32_t batch = 256;
  float learning_rate = 3e-3f;     ///< Adam's step size
  float l2 = 1e-5f;                ///< weight decay on the weights (not the biases)
  std::uint64_t seed = 1;          ///< initialisation and shuffling: same seed and data, same model
  std::uint32_t threads = 0;       ///< intra-op threads for libtorch (0: leave libtorch's setting)
  // Note: train_mlp seeds libtorch's global generator (torch::manual_seed) and, with `threads`,
  // sets its process-wide thread count: concurrent calls, or a host using that generator, lose
  // the "same seed, same model" property.
};

struct mlp_train_report {
  double loss_before = 0;  ///< mean squared error of the initial network
  double loss_after = 0;   ///< of the exported model (computed with model::predict)
  double network_loss = 0; ///< of the libtorch network at the end: equal to loss_after up to float
                           ///< rounding when the export is faithful
  double seconds = 0;      ///< wall time of the training loop
  std::size_t samples = 0;
};

/**
 * @brief Fits y ≈ w2·relu(W1 x' + b1) + b2 on rows x[i * feature_count ...], y[i], where x' is x
 * standardised with the rows' mean and 1/std (a feature constant in the rows gets inv_std 0, as
 * belady-train does), and returns it as a validated model_params of kind mlp.
 * @throw belady::invalid_argument for n = 0, a non-finite row, or bad options
 * @throw std::runtime_error when training diverges (a non-finite loss)
 */
[[nodiscard]] model::model_params train_mlp(const float* x, const float* y, std::size_t n,
                                            const mlp_train_options& options, mlp_train_report* report = nullptr);

}  // namespace belady::tensor
