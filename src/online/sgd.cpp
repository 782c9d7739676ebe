#include "online/sgd.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace belady::online {
namespace {

using model::feature_count;
using model::model_kind;
using model::model_params;

bool usable_normalisation(const model_params& p) {
  for (int i = 0; i < feature_count; ++i)
    if (!(std::isfinite(p.inv_std[i]) && p.inv_std[i] > 0) || !std::isfinite(p.mean[i])) return false;
  return true;
}

void fit_normalisation(model_params& p, const float* x, std::size_t n) {
  for (int i = 0; i < feature_count; ++i) {
    double sum = 0, sq = 0;
    for (std::size_t r = 0; r < n; ++r) sum += x[r * feature_count + i];
    const double mean = sum / double(n);
    for (std::size_t r = 0; r < n; ++r) {
      const double d = x[r * feature_count + i] - mean;
      sq += d * d;
    }
    const double sd = std::max(std::sqrt(sq / double(n)), 1e-6);
    p.mean[i] = static_cast<float>(mean);
    p.inv_std[i] = static_cast<float>(1.0 / sd);
  }
}

/// Adam over a flat parameter vector, with a proximal L1 step on the weights.
struct adam {
  std::vector<double> m, v;
  double lr, b1 = 0.9, b2 = 0.999, eps = 1e-8;
  std::uint64_t t = 0;
  adam(std::size_t size, double rate) : m(size, 0.0), v(size, 0.0), lr(rate) {}
  void step(std::vector<float*>& params, const std::vector<double>& grad, const std::vector<bool>& is_weight,
            double l1) {
    ++t;
    const double c1 = 1 - std::pow(b1, double(t)), c2 = 1 - std::pow(b2, double(t));
    for (std::size_t k = 0; k < params.size(); ++k) {
      m[k] = b1 * m[k] + (1 - b1) * grad[k];
      v[k] = b2 * v[k] + (1 - b2) * grad[k] * grad[k];
      double w = *params[k] - lr * (m[k] / c1) / (std::sqrt(v[k] / c2) + eps);
      if (is_weight[k] && l1 > 0) {
        const double shrink = lr * l1;  // soft threshold: small weights become exactly 0
        w = w > shrink ? w - shrink : w < -shrink ? w + shrink : 0.0;
      }
      *params[k] = static_cast<float>(w);
    }
  }
};

void check_finite(const model_params& p, double loss, const char* when) {
  bool ok = std::isfinite(loss);
  const int hidden = p.kind == model_kind::mlp ? static_cast<int>(p.hidden) : 0;
  for (int i = 0; ok && i < feature_count; ++i) ok = std::isfinite(p.w[i]);
  for (int h = 0; ok && h < hidden; ++h) {
    ok = std::isfinite(p.b1[h]) && std::isfinite(p.w2[h]);
    for (int i = 0; ok && i < feature_count; ++i) ok = std::isfinite(p.w1[h][i]);
  }
  ok = ok && std::isfinite(p.bias) && std::isfinite(p.b2);
  if (!ok)
    throw std::runtime_error(std::string("online trainer: non-finite loss or weights ") + when +
                             " (diverged: lower the learning rate)");
}

}  // namespace

model_params dequantized(const model_params& q) {
  model_params p = q;
  if (q.kind == model_kind::linear_int8) {
    p.kind = model_kind::linear;
    for (int i = 0; i < feature_count; ++i) p.w[i] = float(q.qw[i]) * q.qw_scale;
  } else if (q.kind == model_kind::mlp_int8) {
    p.kind = model_kind::mlp;
    for (std::uint32_t h = 0; h < q.hidden; ++h) {
      for (int i = 0; i < feature_count; ++i) p.w1[h][i] = float(q.qw1[h][i]) * q.qw1_scale[h];
      p.w2[h] = float(q.qw2[h]) * q.qw2_scale;
    }
  }
  return p;
}

double mean_squared_error(const model_params& p, const float* x, const float* y, std::size_t n) {
  if (n == 0) return 0;
  double sum = 0;
  for (std::size_t r = 0; r < n; ++r) {
    const double e = double(model::predict(p, x + r * feature_count)) - double(y[r]);
    sum += e * e;
  }
  return sum / double(n);
}

double pairwise_accuracy(const model_params& p, const float* x, const float* y, std::size_t n, std::size_t pairs,
                         std::uint64_t seed) {
  if (n < 2) return 0;
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<std::size_t> pick(0, n - 1);
  std::size_t right = 0, counted = 0;
  for (std::size_t k = 0; k < pairs * 4 && counted < pairs; ++k) {
    const std::size_t i = pick(rng), j = pick(rng);
    if (y[i] == y[j]) continue;
    const float pi = model::predict(p, x + i * feature_count), pj = model::predict(p, x + j * feature_count);
    right += (pi > pj) == (y[i] > y[j]);
    ++counted;
  }
  return counted ? double(right) / double(counted) : 0.0;
}

model_params sgd_update(const model_params& start, const float* x, const float* y, std::size_t n,
                        const sgd_options& o, sgd_report* report) {
  if (n == 0) throw std::runtime_error("online trainer: no samples to train on");
  model_params p = dequantized(start);
  if (p.kind != model_kind::linear && p.kind != model_kind::mlp)
    throw std::runtime_error("online trainer: unknown model kind " + std::to_string(int(p.kind)));
  const bool mlp = p.kind == model_kind::mlp;
  if (!usable_normalisation(p)) {
    // From scratch: fit the normalisation, and start the output bias at the label mean, which
    // bounded steps would otherwise take hundreds of updates to reach (labels are ~0..20).
    fit_normalisation(p, x, n);
    double mean = 0;
    for (std::size_t r = 0; r < n; ++r) mean += y[r];
    mean /= double(n);
    if (std::isfinite(mean)) (mlp ? p.b2 : p.bias) = static_cast<float>(mean);
  }
  const int hidden = mlp ? static_cast<int>(std::clamp<std::uint32_t>(p.hidden, 1, model::max_hidden)) : 0;
  if (mlp) p.hidden = static_cast<std::uint32_t>(hidden);

  // The trainable parameters as one flat list (pointers into p), and which of them are weights.
  std::vector<float*> params;
  std::vector<bool> is_weight;
  if (!mlp) {
    for (int i = 0; i < feature_count; ++i) params.push_back(&p.w[i]), is_weight.push_back(true);
    params.push_back(&p.bias), is_weight.push_back(false);
  } else {
    for (int h = 0; h < hidden; ++h) {
      for (int i = 0; i < feature_count; ++i) params.push_back(&p.w1[h][i]), is_weight.push_back(true);
      params.push_back(&p.b1[h]), is_weight.push_back(false);
      params.push_back(&p.w2[h]), is_weight.push_back(true);
    }
    params.push_back(&p.b2), is_weight.push_back(false);
  }

  sgd_report r;
  r.samples = n;
  r.loss_before = mean_squared_error(p, x, y, n);
  check_finite(p, r.loss_before, "before training");
  const double lr = std::clamp<double>(o.learning_rate, 1e-6, std::max<double>(o.max_learning_rate, 1e-6));
  adam opt(params.size(), lr);
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::mt19937_64 rng(o.seed);
  std::vector<double> grad(params.size());
  float xn[feature_count];
  float a[model::max_hidden];
  const std::size_t batch = std::max<std::uint32_t>(o.batch, 1);
  for (std::uint32_t epoch = 0; epoch < std::max<std::uint32_t>(o.epochs, 1); ++epoch) {
    std::shuffle(order.begin(), order.end(), rng);
    for (std::size_t b0 = 0; b0 < n; b0 += batch) {
      const std::size_t b1 = std::min(n, b0 + batch);
      std::fill(grad.begin(), grad.end(), 0.0);
      for (std::size_t k = b0; k < b1; ++k) {
        const float* row = x + order[k] * feature_count;
        for (int i = 0; i < feature_count; ++i) xn[i] = (row[i] - p.mean[i]) * p.inv_std[i];
        const double err = double(model::predict(p, row)) - double(y[order[k]]);
        const double g = 2.0 * err;  // d(err^2)/d(prediction)
        std::size_t at = 0;
        if (!mlp) {
          for (int i = 0; i < feature_count; ++i) grad[at++] += g * xn[i];
          grad[at++] += g;
        } else {
          for (int h = 0; h < hidden; ++h) {
            float s = p.b1[h];
            for (int i = 0; i < feature_count; ++i) s += p.w1[h][i] * xn[i];
            a[h] = s;
          }
          for (int h = 0; h < hidden; ++h) {
            const double active = a[h] > 0 ? 1.0 : 0.0;
            const double gh = g * double(p.w2[h]) * active;
            for (int i = 0; i < feature_count; ++i) grad[at++] += gh * xn[i];
            grad[at++] += gh;
            grad[at++] += g * (a[h] > 0 ? double(a[h]) : 0.0);
          }
          grad[at++] += g;
        }
      }
      const double scale = 1.0 / double(b1 - b0);
      for (std::size_t k = 0; k < params.size(); ++k) {
        grad[k] *= scale;
        if (is_weight[k]) grad[k] += 2.0 * o.l2 * double(*params[k]);
        if (!std::isfinite(grad[k]))
          throw std::runtime_error("online trainer: non-finite gradient (diverged: lower the learning rate)");
      }
      opt.step(params, grad, is_weight, o.l1);
    }
    check_finite(p, 0.0, "during training");
  }
  r.loss_after = mean_squared_error(p, x, y, n);
  check_finite(p, r.loss_after, "after training");
  if (report != nullptr) *report = r;
  return p;
}

}  // namespace belady::online
