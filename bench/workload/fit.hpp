#pragma once
// Fitting the workload classifier: multinomial logistic regression with soft targets (the class
// model uses one-hot targets, the blend model a window's blend), L2-penalised, full-batch Adam in
// double; then a temperature fitted on separate windows by minimising their log loss.
#include <array>
#include <cmath>
#include <vector>

#include "belady/workload.hpp"

namespace belady::workload_lab {

using belady::workload::stream_feature_count;
using row = std::array<double, stream_feature_count>;

template <std::size_t K>
using softmax_weights = std::array<std::array<float, stream_feature_count + 1>, K>;

template <std::size_t K>
softmax_weights<K> fit_softmax(const std::vector<row>& x, const std::vector<std::array<double, K>>& target, double l2,
                               int steps) {
  constexpr int D = stream_feature_count + 1;
  std::vector<double> w(K * D, 0.0), m(K * D, 0.0), v(K * D, 0.0), g(K * D);
  const double lr = 0.05, b1 = 0.9, b2 = 0.999;
  const double n = double(x.size());
  for (int step = 1; step <= steps; ++step) {
    std::fill(g.begin(), g.end(), 0.0);
    for (std::size_t r = 0; r < x.size(); ++r) {
      std::array<double, K> z{};
      double top = -1e300;
      for (std::size_t k = 0; k < K; ++k) {
        double s = w[k * D + D - 1];
        for (int i = 0; i < stream_feature_count; ++i) s += w[k * D + i] * x[r][i];
        z[k] = s;
        top = std::max(top, s);
      }
      double sum = 0;
      for (auto& s : z) sum += s = std::exp(s - top);
      for (std::size_t k = 0; k < K; ++k) {
        const double err = z[k] / sum - target[r][k];
        for (int i = 0; i < stream_feature_count; ++i) g[k * D + i] += err * x[r][i] / n;
        g[k * D + D - 1] += err / n;
      }
    }
    for (std::size_t j = 0; j < w.size(); ++j) {
      if (j % D != D - 1) g[j] += l2 * w[j];
      m[j] = b1 * m[j] + (1 - b1) * g[j];
      v[j] = b2 * v[j] + (1 - b2) * g[j] * g[j];
      w[j] -= lr * (m[j] / (1 - std::pow(b1, step))) / (std::sqrt(v[j] / (1 - std::pow(b2, step))) + 1e-8);
    }
  }
  softmax_weights<K> out{};
  for (std::size_t k = 0; k < K; ++k)
    for (int i = 0; i < D; ++i) out[k][i] = static_cast<float>(w[k * D + i]);
  return out;
}

}  // namespace belady::workload_lab
