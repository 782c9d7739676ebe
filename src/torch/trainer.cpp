// belady::tensor::train_mlp: libtorch's autograd and Adam for the inline MLP.
#include "belady/torch/trainer.hpp"

#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <string>

#include "belady/error.hpp"
#include "belady/model/model_io.hpp"

namespace belady::tensor {
namespace {

using model::feature_count;

void check(const float* x, const float* y, std::size_t n, const mlp_train_options& o) {
  auto reject = [](const std::string& why) { throw invalid_argument("belady::tensor::train_mlp: " + why); };
  if (n == 0) reject("no rows");
  if (x == nullptr || y == nullptr) reject("null rows");
  if (o.hidden == 0 || o.hidden > model::max_hidden)
    reject("hidden is " + std::to_string(o.hidden) + ", expected 1.." + std::to_string(model::max_hidden));
  if (o.batch == 0) reject("batch is 0");
  if (!(o.learning_rate > 0) || !std::isfinite(o.learning_rate)) reject("learning_rate must be finite and > 0");
  if (!(o.l2 >= 0) || !std::isfinite(o.l2)) reject("l2 must be finite and >= 0");
  for (std::size_t r = 0; r < n; ++r) {
    if (!std::isfinite(y[r])) reject("label " + std::to_string(r) + " is not finite");
    for (int i = 0; i < feature_count; ++i)
      if (!std::isfinite(x[r * feature_count + i]))
        reject("feature " + std::to_string(i) + " of row " + std::to_string(r) + " is not finite");
  }
}

/// Mean and 1/std per feature, in double; a feature constant in the rows gets inv_std 0.
void normalisation(const float* x, std::size_t n, model::model_params& p) {
  for (int i = 0; i < feature_count; ++i) {
    double mean = 0;
    for (std::size_t r = 0; r < n; ++r) mean += x[r * feature_count + i];
    mean /= double(n);
    double var = 0;
    for (std::size_t r = 0; r < n; ++r) {
      const double d = x[r * feature_count + i] - mean;
      var += d * d;
    }
    const double sd = std::sqrt(var / double(n));
    p.mean[i] = static_cast<float>(mean);
    p.inv_std[i] = sd > 1e-6 ? static_cast<float>(1.0 / sd) : 0.0f;
  }
}

double mse_of(const model::model_params& p, const float* x, const float* y, std::size_t n) {
  double sum = 0;
  for (std::size_t r = 0; r < n; ++r) {
    const double d = model::predict(p, x + r * feature_count) - y[r];
    sum += d * d;
  }
  return sum / double(n);
}

}  // namespace

model::model_params train_mlp(const float* x, const float* y, std::size_t n, const mlp_train_options& o,
                              mlp_train_report* report) {
  check(x, y, n, o);
  torch::NoGradGuard no_grad_outside;  // re-enabled for the training steps below
  if (o.threads != 0) torch::set_num_threads(static_cast<int>(o.threads));
  torch::manual_seed(o.seed);
  model::model_params p;
  p.kind = model::model_kind::mlp;
  p.hidden = o.hidden;
  normalisation(x, n, p);

  const auto rows = static_cast<std::int64_t>(n);
  const torch::Tensor mean = torch::from_blob(p.mean, {feature_count}, torch::kFloat).clone();
  const torch::Tensor inv_std = torch::from_blob(p.inv_std, {feature_count}, torch::kFloat).clone();
  // from_blob does not copy: clone so that the tensors own their data.
  const torch::Tensor X = (torch::from_blob(const_cast<float*>(x), {rows, feature_count}, torch::kFloat) - mean) * inv_std;
  const torch::Tensor Y = torch::from_blob(const_cast<float*>(y), {rows, 1}, torch::kFloat).clone();

  torch::nn::Linear fc1(feature_count, static_cast<std::int64_t>(o.hidden));
  torch::nn::Linear fc2(static_cast<std::int64_t>(o.hidden), 1);
  // Start at the label mean: the first steps then shape the ranking instead of finding the level.
  fc2->bias.fill_(Y.mean().item<float>());
  auto forward = [&](const torch::Tensor& in) { return fc2(torch::relu(fc1(in))); };

  // Weight decay on the weights only, as the built-in trainers do.
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(std::vector<torch::Tensor>{fc1->weight, fc2->weight},
                      std::make_unique<torch::optim::AdamOptions>(torch::optim::AdamOptions(o.learning_rate).weight_decay(o.l2)));
  groups.emplace_back(std::vector<torch::Tensor>{fc1->bias, fc2->bias},
                      std::make_unique<torch::optim::AdamOptions>(torch::optim::AdamOptions(o.learning_rate)));
  torch::optim::Adam adam(std::move(groups), torch::optim::AdamOptions(o.learning_rate));

  const double loss_before = torch::mse_loss(forward(X), Y).item<double>();
  const auto started = std::chrono::steady_clock::now();
  const auto batch = static_cast<std::int64_t>(o.batch);
  for (std::uint32_t epoch = 0; epoch < o.epochs; ++epoch) {
    const torch::Tensor order = torch::randperm(rows, torch::kLong);
    for (std::int64_t first = 0; first < rows; first += batch) {
      const torch::Tensor idx = order.slice(0, first, std::min(rows, first + batch));
      torch::AutoGradMode grad(true);
      adam.zero_grad();
      const torch::Tensor loss = torch::mse_loss(forward(X.index_select(0, idx)), Y.index_select(0, idx));
      if (!std::isfinite(loss.item<double>()))
        throw std::runtime_error("belady::tensor::train_mlp: the loss became non-finite in epoch " + std::to_string(epoch + 1) +
                                 " (learning rate " + std::to_string(o.learning_rate) + ")");
      loss.backward();
      adam.step();
    }
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const double network_loss = torch::mse_loss(forward(X), Y).item<double>();

  // Export: the kernels' MLP is y = b2 + sum_h w2[h] relu(b1[h] + sum_i w1[h][i] x'_i).
  const torch::Tensor w1 = fc1->weight.contiguous(), b1 = fc1->bias.contiguous();
  const torch::Tensor w2 = fc2->weight.contiguous(), b2 = fc2->bias.contiguous();
  for (std::uint32_t h = 0; h < o.hidden; ++h) {
    for (int i = 0; i < feature_count; ++i) p.w1[h][i] = w1[h][i].item<float>();
    p.b1[h] = b1[h].item<float>();
    p.w2[h] = w2[0][h].item<float>();
  }
  p.b2 = b2[0].item<float>();
  model::validate(p);  // finite weights, sizes: what install() would check
  if (report) {
    report->loss_before = loss_before;
    report->loss_after = mse_of(p, x, y, n);
    report->network_loss = network_loss;
    report->seconds = seconds;
    report->samples = n;
  }
  return p;
}

}  // namespace belady::tensor
