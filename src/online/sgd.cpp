#include "online/sgd.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "belady/error.hpp"
#include "belady/model/model_io.hpp"

namespace belady::online {
namespace {

using model::feature_count;
using model::max_hidden;
using model::model_kind;
using model::model_params;

// Below this standard deviation a feature counts as constant in the rows (see sgd.hpp).
constexpr double constant_feature_std = 1e-6;
constexpr double min_learning_rate = 1e-6;

[[noreturn]] void fail(const std::string& why) { throw std::runtime_error("online trainer: " + why); }

const char* non_finite_name(double v) { return std::isnan(v) ? "NaN" : v > 0 ? "+Inf" : "-Inf"; }

void check_options(const sgd_options& o) {
  auto reject = [](const std::string& why) { throw belady::invalid_argument("sgd_options." + why); };
  if (std::isnan(o.learning_rate)) reject("learning_rate is NaN");
  if (!(std::isfinite(o.max_learning_rate) && o.max_learning_rate > 0))
    reject("max_learning_rate is " + std::to_string(o.max_learning_rate) + ", expected a finite value > 0");
  if (!(std::isfinite(o.l1) && o.l1 >= 0)) reject("l1 is " + std::to_string(o.l1) + ", expected a finite value >= 0");
  if (!(std::isfinite(o.l2) && o.l2 >= 0)) reject("l2 is " + std::to_string(o.l2) + ", expected a finite value >= 0");
  if (o.batch == 0) reject("batch is 0, expected >= 1");
}

// A NaN label would otherwise surface as a "diverged" loss, pointing at the learning rate
// instead of at the data.
void check_rows(const float* x, const float* y, std::size_t n) {
  for (std::size_t r = 0; r < n; ++r) {
    if (!std::isfinite(y[r])) fail("label y[" + std::to_string(r) + "] is " + non_finite_name(y[r]));
    for (int i = 0; i < feature_count; ++i) {
      const float v = x[r * feature_count + i];
      if (!std::isfinite(v))
        fail("feature x[" + std::to_string(r) + "][" + std::to_string(i) + "] is " + non_finite_name(v));
    }
  }
}

struct feature_moments {
  double mean[feature_count] = {};
  double std_dev[feature_count] = {};
};

// Two passes in double: one pass of sum and sum of squares cancels badly for features with a
// large mean and a small spread (log-times late in a long run).
feature_moments moments_of(const float* x, std::size_t n) {
  feature_moments m;
  for (std::size_t r = 0; r < n; ++r)
    for (int i = 0; i < feature_count; ++i) m.mean[i] += x[r * feature_count + i];
  for (int i = 0; i < feature_count; ++i) m.mean[i] /= static_cast<double>(n);
  for (std::size_t r = 0; r < n; ++r)
    for (int i = 0; i < feature_count; ++i) {
      const double d = x[r * feature_count + i] - m.mean[i];
      m.std_dev[i] += d * d;
    }
  for (int i = 0; i < feature_count; ++i) m.std_dev[i] = std::sqrt(m.std_dev[i] / static_cast<double>(n));
  return m;
}

bool usable_normalisation(const model_params& p) {
  bool any_live = false;
  for (int i = 0; i < feature_count; ++i) {
    if (!std::isfinite(p.mean[i]) || !std::isfinite(p.inv_std[i]) || p.inv_std[i] < 0) return false;
    any_live = any_live || p.inv_std[i] > 0;
  }
  return any_live;
}

void normalise_feature(model_params& p, const feature_moments& m, int i) {
  p.mean[i] = static_cast<float>(m.mean[i]);
  p.inv_std[i] = m.std_dev[i] >= constant_feature_std ? static_cast<float>(1.0 / m.std_dev[i]) : 0.0f;
}

int hidden_units(const model_params& p) { return p.kind == model_kind::mlp ? static_cast<int>(p.hidden) : 0; }

// The start ignores feature i (inv_std 0), so its weights on it have no effect: zeroing them while
// giving the feature a scale keeps every prediction and lets the feature be learned.
void unsilence_varying_features(model_params& p, const feature_moments& m) {
  for (int i = 0; i < feature_count; ++i) {
    if (p.inv_std[i] != 0.0f || m.std_dev[i] < constant_feature_std) continue;
    normalise_feature(p, m, i);
    p.w[i] = 0.0f;
    for (int h = 0; h < hidden_units(p); ++h) p.w1[h][i] = 0.0f;
  }
}

bool mlp_weights_all_zero(const model_params& p) {
  for (int h = 0; h < hidden_units(p); ++h) {
    if (p.w2[h] != 0.0f) return false;
    for (int i = 0; i < feature_count; ++i)
      if (p.w1[h][i] != 0.0f) return false;
  }
  return true;
}

// He initialisation for the ReLU layer; the output layer scaled by 1/sqrt(hidden) so the start's
// predictions stay near the output bias.
void initialise_mlp(model_params& p, std::mt19937_64& rng) {
  const int hidden = hidden_units(p);
  std::normal_distribution<float> first(0.0f, std::sqrt(2.0f / feature_count));
  std::normal_distribution<float> second(0.0f, 1.0f / std::sqrt(static_cast<float>(hidden)));
  for (int h = 0; h < hidden; ++h) {
    for (int i = 0; i < feature_count; ++i) p.w1[h][i] = first(rng);
    p.w2[h] = second(rng);
  }
}

void clear_int8_fields(model_params& p) {
  std::memset(p.qw, 0, sizeof p.qw);
  std::memset(p.qw1, 0, sizeof p.qw1);
  std::memset(p.qw2, 0, sizeof p.qw2);
  p.qw_scale = 0;
  std::fill(std::begin(p.qw1_scale), std::end(p.qw1_scale), 0.0f);
  p.qw2_scale = 0;
}

/// The trainable values of a linear or mlp block, addressed in place so that model::predict sees
/// every update. Order: linear w[0..F), bias; mlp per unit h: w1[h][0..F), b1[h], w2[h]; then b2.
/// `penalised` marks the weights: L1 and L2 leave the biases free.
struct trainable {
  std::vector<float*> value;
  std::vector<bool> penalised;

  explicit trainable(model_params& p) {
    if (p.kind == model_kind::linear) {
      for (float& w : p.w) add(w, true);
      add(p.bias, false);
      return;
    }
    for (int h = 0; h < hidden_units(p); ++h) {
      for (float& w : p.w1[h]) add(w, true);
      add(p.b1[h], false);
      add(p.w2[h], true);
    }
    add(p.b2, false);
  }
  [[nodiscard]] std::size_t size() const { return value.size(); }

 private:
  void add(float& v, bool weight) {
    value.push_back(&v);
    penalised.push_back(weight);
  }
};

/// Adds d(err^2)/d(parameter) for one row to `grad`, in trainable's order. `err` is the
/// prediction minus the label.
void add_row_gradient(const model_params& p, const float* row, double err, std::vector<double>& grad) {
  float xn[feature_count];
  for (int i = 0; i < feature_count; ++i) xn[i] = (row[i] - p.mean[i]) * p.inv_std[i];
  const double g = 2.0 * err;
  std::size_t at = 0;
  if (p.kind == model_kind::linear) {
    for (int i = 0; i < feature_count; ++i) grad[at++] += g * xn[i];
    grad[at++] += g;
    return;
  }
  for (int h = 0; h < hidden_units(p); ++h) {
    // The same operations in the same order as model::predict, so the ReLU masks agree with it.
    float pre = p.b1[h];
    for (int i = 0; i < feature_count; ++i) pre += p.w1[h][i] * xn[i];
    const bool on = pre > 0.0f;
    const double into_unit = on ? g * p.w2[h] : 0.0;
    for (int i = 0; i < feature_count; ++i) grad[at++] += into_unit * xn[i];
    grad[at++] += into_unit;
    grad[at++] += on ? g * pre : 0.0;
  }
  grad[at++] += g;
}

/// Adam (Kingma & Ba) on the smooth part of the objective (squared error + L2), then the proximal
/// step of the L1 penalty on the weights. Soft-thresholding sets a weight the penalty outweighs to
/// exactly 0, where a subgradient step would make it oscillate around 0. The threshold is taken in
/// Adam's own metric (step * l1 / sqrt(v), the prox of the preconditioned step): a fixed
/// step * l1 would be negligible against Adam's normalised steps (~step), so the penalty would
/// zero nothing. With it a weight stays at 0 exactly when its mean gradient is below l1, the
/// optimality condition of the penalised objective. Capped at one step: a weight whose gradient is
/// 0 in these rows shrinks no faster than L2 already moves it under Adam.
class adam {
 public:
  adam(std::size_t size, double step) : m_(size, 0.0), v_(size, 0.0), step_(step) {}

  void update(trainable& t, const std::vector<double>& grad, double l1) {
    ++t_;
    const double c1 = 1.0 - std::pow(beta1, static_cast<double>(t_));
    const double c2 = 1.0 - std::pow(beta2, static_cast<double>(t_));
    for (std::size_t k = 0; k < t.size(); ++k) {
      m_[k] = beta1 * m_[k] + (1 - beta1) * grad[k];
      v_[k] = beta2 * v_[k] + (1 - beta2) * grad[k] * grad[k];
      const double scale = std::sqrt(v_[k] / c2) + epsilon;
      double w = *t.value[k] - step_ * (m_[k] / c1) / scale;
      if (t.penalised[k] && l1 > 0) {
        const double threshold = std::min(step_ * l1 / scale, step_);
        w = w > threshold ? w - threshold : w < -threshold ? w + threshold : 0.0;
      }
      *t.value[k] = static_cast<float>(w);
    }
  }

 private:
  static constexpr double beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8;
  std::vector<double> m_, v_;
  double step_;
  std::uint64_t t_ = 0;
};

void check_trainable_finite(const trainable& t, std::uint32_t epoch, std::size_t step) {
  for (std::size_t k = 0; k < t.size(); ++k)
    if (!std::isfinite(*t.value[k]))
      fail("a weight became " + std::string(non_finite_name(*t.value[k])) + " at epoch " + std::to_string(epoch) +
           ", step " + std::to_string(step) + ": the updates diverged (lower the learning rate)");
}

}  // namespace

model_params dequantized(const model_params& q) {
  model_params p = q;
  if (q.kind == model_kind::linear_int8) {
    p.kind = model_kind::linear;
    for (int i = 0; i < feature_count; ++i) p.w[i] = static_cast<float>(q.qw[i]) * q.qw_scale;
  } else if (q.kind == model_kind::mlp_int8) {
    p.kind = model_kind::mlp;
    for (std::uint32_t h = 0; h < q.hidden && h < static_cast<std::uint32_t>(max_hidden); ++h) {
      for (int i = 0; i < feature_count; ++i) p.w1[h][i] = static_cast<float>(q.qw1[h][i]) * q.qw1_scale[h];
      p.w2[h] = static_cast<float>(q.qw2[h]) * q.qw2_scale;
    }
  } else {
    return p;
  }
  clear_int8_fields(p);
  return p;
}

double mean_squared_error(const model_params& p, const float* x, const float* y, std::size_t n) {
  if (n == 0) return std::nan("");
  double sum = 0;
  for (std::size_t r = 0; r < n; ++r) {
    const double e = static_cast<double>(model::predict(p, x + r * feature_count)) - static_cast<double>(y[r]);
    sum += e * e;
  }
  return sum / static_cast<double>(n);
}

double pairwise_accuracy(const model_params& p, const float* x, const float* y, std::size_t n, std::size_t pairs,
                         std::uint64_t seed) {
  if (n < 2 || pairs == 0) return std::nan("");
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<std::size_t> pick(0, n - 1);
  std::size_t right = 0, counted = 0;
  for (std::size_t draw = 0; draw < 4 * pairs && counted < pairs; ++draw) {
    const std::size_t i = pick(rng), j = pick(rng);
    if (y[i] == y[j]) continue;
    const float pi = model::predict(p, x + i * feature_count), pj = model::predict(p, x + j * feature_count);
    right += (pi > pj) == (y[i] > y[j]) && pi != pj ? 1 : 0;
    ++counted;
  }
  return counted ? static_cast<double>(right) / static_cast<double>(counted) : std::nan("");
}

model_params sgd_update(const model_params& start, const float* x, const float* y, std::size_t n,
                        const sgd_options& options, sgd_report* report) {
  check_options(options);
  if (n == 0) fail("no samples to train on");
  model::validate(start);
  check_rows(x, y, n);

  model_params p = dequantized(start);
  clear_int8_fields(p);
  std::mt19937_64 rng(options.seed);
  const feature_moments m = moments_of(x, n);
  if (usable_normalisation(p)) {
    unsilence_varying_features(p, m);
  } else {
    for (int i = 0; i < feature_count; ++i) normalise_feature(p, m, i);
    // Bounded steps would take hundreds of updates to carry the output bias from 0 to the label
    // mean (labels are log2 of ticks: ~0..20).
    const double label_mean = std::accumulate(y, y + n, 0.0) / static_cast<double>(n);
    (p.kind == model_kind::mlp ? p.b2 : p.bias) = static_cast<float>(label_mean);
  }
  if (p.kind == model_kind::mlp && mlp_weights_all_zero(p)) initialise_mlp(p, rng);

  sgd_report r;
  r.samples = n;
  r.loss_before = mean_squared_error(p, x, y, n);
  if (!std::isfinite(r.loss_before)) fail("the start model's loss on these rows is not finite");

  trainable params(p);
  const double step =
      std::min(std::max(static_cast<double>(options.learning_rate), min_learning_rate),
               static_cast<double>(options.max_learning_rate));
  adam optimiser(params.size(), step);
  std::vector<double> grad(params.size());
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  const std::size_t batch = options.batch;
  std::size_t steps = 0;
  for (std::uint32_t epoch = 0; epoch < options.epochs; ++epoch) {
    std::shuffle(order.begin(), order.end(), rng);
    for (std::size_t first = 0; first < n; first += batch) {
      const std::size_t last = std::min(n, first + batch);
      std::fill(grad.begin(), grad.end(), 0.0);
      for (std::size_t k = first; k < last; ++k) {
        const float* row = x + order[k] * feature_count;
        const double err = static_cast<double>(model::predict(p, row)) - static_cast<double>(y[order[k]]);
        add_row_gradient(p, row, err, grad);
      }
      const double inv_rows = 1.0 / static_cast<double>(last - first);
      for (std::size_t k = 0; k < params.size(); ++k) {
        grad[k] *= inv_rows;
        if (params.penalised[k]) grad[k] += 2.0 * options.l2 * static_cast<double>(*params.value[k]);
        if (!std::isfinite(grad[k]))
          fail("the gradient became non-finite at epoch " + std::to_string(epoch) + ", step " +
               std::to_string(steps) + ": the updates diverged (lower the learning rate)");
      }
      optimiser.update(params, grad, options.l1);
      check_trainable_finite(params, epoch, steps);
      ++steps;
    }
  }
  r.loss_after = options.epochs == 0 ? r.loss_before : mean_squared_error(p, x, y, n);
  if (!std::isfinite(r.loss_after)) fail("the loss after training is not finite: the updates diverged");
  if (report != nullptr) *report = r;
  return p;
}

}  // namespace belady::online
