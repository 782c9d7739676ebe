#include "fit.hpp"

#include <algorithm>
#include <cmath>
#include <random>
#include <stdexcept>

namespace belady::train {

using belady::model::feature_count;
using belady::model::model_params;

void fit_normalisation(const dataset& d, model_params& p) {
  const std::size_t n = d.size();
  for (int j = 0; j < feature_count; ++j) {
    double sum = 0, sq = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const double v = d.x[i * feature_count + j];
      sum += v;
      sq += v * v;
    }
    const double mean = n ? sum / double(n) : 0.0;
    const double var = n ? std::max(sq / double(n) - mean * mean, 0.0) : 0.0;
    p.mean[j] = static_cast<float>(mean);
    // A constant feature carries nothing: scale it to zero rather than dividing by ~0.
    p.inv_std[j] = var > 1e-12 ? static_cast<float>(1.0 / std::sqrt(var)) : 0.0f;
  }
}

namespace {

/// Solves the symmetric positive definite system A w = b (size m) by Cholesky; A is destroyed.
std::vector<double> solve_spd(std::vector<double>& a, std::vector<double> b, int m) {
  for (int j = 0; j < m; ++j) {
    double d = a[j * m + j];
    for (int k = 0; k < j; ++k) d -= a[j * m + k] * a[j * m + k];
    if (d <= 0) throw std::runtime_error("ridge: normal equations are not positive definite");
    const double l = std::sqrt(d);
    a[j * m + j] = l;
    for (int i = j + 1; i < m; ++i) {
      double s = a[i * m + j];
      for (int k = 0; k < j; ++k) s -= a[i * m + k] * a[j * m + k];
      a[i * m + j] = s / l;
    }
  }
  for (int i = 0; i < m; ++i) {  // L z = b
    double s = b[i];
    for (int k = 0; k < i; ++k) s -= a[i * m + k] * b[k];
    b[i] = s / a[i * m + i];
  }
  for (int i = m - 1; i >= 0; --i) {  // L^T w = z
    double s = b[i];
    for (int k = i + 1; k < m; ++k) s -= a[k * m + i] * b[k];
    b[i] = s / a[i * m + i];
  }
  return b;
}

}  // namespace

model_params fit_ridge(const dataset& train, const ridge_options& o) {
  if (train.size() == 0) throw std::invalid_argument("ridge: no training samples");
  model_params p;
  p.kind = belady::model::model_kind::linear;
  fit_normalisation(train, p);
  constexpr int m = feature_count + 1;  // + intercept
  std::vector<double> a(m * m, 0.0), b(m, 0.0);
  double z[m];
  for (std::size_t i = 0; i < train.size(); ++i) {
    for (int j = 0; j < feature_count; ++j) z[j] = (train.x[i * feature_count + j] - p.mean[j]) * p.inv_std[j];
    z[feature_count] = 1.0;
    for (int r = 0; r < m; ++r) {
      b[r] += z[r] * train.y[i];
      for (int c = 0; c <= r; ++c) a[r * m + c] += z[r] * z[c];
    }
  }
  for (int r = 0; r < m; ++r)
    for (int c = r + 1; c < m; ++c) a[r * m + c] = a[c * m + r];
  const double ridge = o.lambda * double(train.size());
  for (int j = 0; j < feature_count; ++j) a[j * m + j] += ridge;  // the intercept is not penalised
  a[feature_count * m + feature_count] += 1e-9 * double(train.size());
  const std::vector<double> w = solve_spd(a, b, m);
  for (int j = 0; j < feature_count; ++j) p.w[j] = static_cast<float>(w[j]);
  p.bias = static_cast<float>(w[feature_count]);
  return p;
}

model_params fit_mlp(const dataset& train, const mlp_options& o) {
  if (train.size() == 0) throw std::invalid_argument("mlp: no training samples");
  if (o.hidden == 0 || o.hidden > static_cast<std::uint32_t>(belady::model::max_hidden))
    throw std::invalid_argument("mlp: hidden must be in 1..32");
  model_params p;
  p.kind = belady::model::model_kind::mlp;
  p.hidden = o.hidden;
  fit_normalisation(train, p);
  const int h = static_cast<int>(o.hidden);
  std::mt19937_64 rng(o.seed);
  std::normal_distribution<float> init(0.0f, std::sqrt(2.0f / feature_count));
  // Parameters in one flat vector for Adam: w1 (h x F), b1 (h), w2 (h), b2 (1).
  const int n_w1 = h * feature_count, n_params = n_w1 + 2 * h + 1;
  std::vector<float> theta(n_params, 0.0f), grad(n_params), m1(n_params, 0.0f), m2(n_params, 0.0f);
  for (int i = 0; i < n_w1; ++i) theta[i] = init(rng);
  for (int i = 0; i < h; ++i) theta[n_w1 + h + i] = init(rng) / std::sqrt(float(h));
  double mean_y = 0;
  for (float y : train.y) mean_y += y;
  theta[n_params - 1] = static_cast<float>(mean_y / double(train.size()));

  std::vector<std::size_t> order(train.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  const float beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f;
  std::uint64_t step = 0;
  float x[feature_count], act[belady::model::max_hidden], pre[belady::model::max_hidden];
  for (std::uint32_t epoch = 0; epoch < o.epochs; ++epoch) {
    std::shuffle(order.begin(), order.end(), rng);
    for (std::size_t start = 0; start < order.size(); start += o.batch) {
      const std::size_t end = std::min(order.size(), start + o.batch);
      std::fill(grad.begin(), grad.end(), 0.0f);
      for (std::size_t k = start; k < end; ++k) {
        const std::size_t i = order[k];
        for (int j = 0; j < feature_count; ++j) x[j] = (train.x[i * feature_count + j] - p.mean[j]) * p.inv_std[j];
        float y = theta[n_params - 1];
        for (int u = 0; u < h; ++u) {
          float a = theta[n_w1 + u];
          for (int j = 0; j < feature_count; ++j) a += theta[u * feature_count + j] * x[j];
          pre[u] = a;
          act[u] = a > 0 ? a : 0;
          y += theta[n_w1 + h + u] * act[u];
        }
        const float err = y - train.y[i];  // d(0.5 err^2)/dy
        grad[n_params - 1] += err;
        for (int u = 0; u < h; ++u) {
          grad[n_w1 + h + u] += err * act[u];
          if (pre[u] <= 0) continue;
          const float back = err * theta[n_w1 + h + u];
          grad[n_w1 + u] += back;
          for (int j = 0; j < feature_count; ++j) grad[u * feature_count + j] += back * x[j];
        }
      }
      ++step;
      const float inv_batch = 1.0f / float(end - start);
      const float c1 = 1.0f - std::pow(beta1, float(step)), c2 = 1.0f - std::pow(beta2, float(step));
      for (int q = 0; q < n_params; ++q) {
        const float g = grad[q] * inv_batch + o.l2 * theta[q];
        m1[q] = beta1 * m1[q] + (1 - beta1) * g;
        m2[q] = beta2 * m2[q] + (1 - beta2) * g * g;
        theta[q] -= o.learning_rate * (m1[q] / c1) / (std::sqrt(m2[q] / c2) + eps);
      }
    }
  }
  for (int u = 0; u < h; ++u) {
    for (int j = 0; j < feature_count; ++j) p.w1[u][j] = theta[u * feature_count + j];
    p.b1[u] = theta[n_w1 + u];
    p.w2[u] = theta[n_w1 + h + u];
  }
  p.b2 = theta[n_params - 1];
  return p;
}

void evaluate(const model_params& p, const dataset& d, double& mse, double& pairwise_accuracy, std::uint64_t seed) {
  const std::size_t n = d.size();
  std::vector<float> pred(n);
  double se = 0;
  for (std::size_t i = 0; i < n; ++i) {
    pred[i] = belady::model::predict(p, &d.x[i * feature_count]);
    const double e = pred[i] - d.y[i];
    se += e * e;
  }
  mse = n ? se / double(n) : 0.0;
  // Pairwise order accuracy on random pairs: what eviction by argmax needs.
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<std::size_t> pick(0, n ? n - 1 : 0);
  std::size_t agree = 0, pairs = 0;
  for (std::size_t k = 0; n > 1 && k < 200000; ++k) {
    const std::size_t i = pick(rng), j = pick(rng);
    if (d.y[i] == d.y[j]) continue;
    ++pairs;
    agree += ((d.y[i] > d.y[j]) == (pred[i] > pred[j])) ? 1 : 0;
  }
  pairwise_accuracy = pairs ? double(agree) / double(pairs) : 0.0;
}

void split(const dataset& all, double validation_fraction, dataset& train, dataset& validation) {
  const std::size_t every = validation_fraction > 0 ? std::max<std::size_t>(2, std::size_t(1.0 / validation_fraction)) : 0;
  train = {};
  validation = {};
  for (std::size_t i = 0; i < all.size(); ++i) {
    dataset& to = (every && i % every == 0) ? validation : train;
    to.x.insert(to.x.end(), all.x.begin() + i * feature_count, all.x.begin() + (i + 1) * feature_count);
    to.y.push_back(all.y[i]);
  }
}

}  // namespace belady::train
