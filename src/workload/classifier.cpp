// The workload classifier: standardise, a softmax over the classes (temperature-calibrated), and
// a softmax over the pure classes for the blend.
#include <algorithm>
#include <cmath>

#include "belady/workload.hpp"

namespace belady::workload {
namespace {

template <std::size_t K>
std::array<double, K> softmax(const std::array<double, K>& logits) {
  const double top = *std::max_element(logits.begin(), logits.end());
  std::array<double, K> p{};
  double sum = 0;
  for (std::size_t k = 0; k < K; ++k) sum += p[k] = std::exp(logits[k] - top);
  for (double& v : p) v /= sum;
  return p;
}

template <std::size_t K>
std::array<double, K> logits_of(const std::array<std::array<float, stream_feature_count + 1>, K>& w,
                                const std::array<double, stream_feature_count>& x) {
  std::array<double, K> out{};
  for (std::size_t k = 0; k < K; ++k) {
    double s = w[k][stream_feature_count];
    for (int i = 0; i < stream_feature_count; ++i) s += double(w[k][i]) * x[i];
    out[k] = s;
  }
  return out;
}

workload_classifier::weights builtin_weights() {
  workload_classifier::weights w;
#include "workload/builtin_weights.inc"
  return w;
}

}  // namespace

workload_classifier::workload_classifier() : w_(builtin_weights()) {}

classification workload_classifier::classify(const stream_features& f) const {
  std::array<double, stream_feature_count> x{};
  for (int i = 0; i < stream_feature_count; ++i) {
    const double v = std::isfinite(f[i]) ? f[i] : 0.0;
    x[i] = (v - w_.mean[i]) * w_.inv_std[i];
  }
  classification c;
  auto logits = logits_of(w_.class_w, x);
  const double t = w_.temperature > 0 ? w_.temperature : 1.0;
  for (double& l : logits) l /= t;
  c.probability = softmax(logits);
  const auto best = std::max_element(c.probability.begin(), c.probability.end());
  c.kind = static_cast<workload_class>(best - c.probability.begin());
  c.confidence = *best;
  c.blend = softmax(logits_of(w_.blend_w, x));
  return c;
}

}  // namespace belady::workload
