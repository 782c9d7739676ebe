#include "belady/model/ensemble.hpp"

#include <cmath>
#include <string>

#include "belady/error.hpp"
#include "belady/model/model_io.hpp"

namespace belady::model {
namespace {

/// A model's weights in the shared normalisation (mean M, inv_std S): a row w over the model's
/// own normalised inputs s_i (x_i - m_i) becomes the row w_i s_i / S_i over S_i (x_i - M_i) plus
/// the constant sum_i w_i s_i (M_i - m_i). Features the shared normalisation silences (S_i = 0)
/// are silenced in every input too (see common_normalisation).
struct row_transform {
  const float* mean;
  const float* inv_std;
  const float* shared_mean;
  const float* shared_inv_std;

  /// Writes the transformed row into out[] and returns the constant it adds.
  double apply(const float* w, float* out) const {
    double constant = 0;
    for (int i = 0; i < feature_count; ++i) {
      const double scaled = double(w[i]) * double(inv_std[i]);
      if (shared_inv_std[i] == 0.0f || scaled == 0.0) {
        out[i] = 0.0f;
        continue;
      }
      out[i] = static_cast<float>(scaled / double(shared_inv_std[i]));
      constant += scaled * (double(shared_mean[i]) - double(mean[i]));
    }
    return constant;
  }
};

}  // namespace

model_params weighted_ensemble(std::span<const model_params* const> models, std::span<const double> weights) {
  if (models.empty()) throw belady::invalid_argument("weighted_ensemble: no models");
  if (models.size() != weights.size())
    throw belady::invalid_argument("weighted_ensemble: " + std::to_string(models.size()) + " models but " +
                                   std::to_string(weights.size()) + " weights");
  double total = 0;
  bool any_mlp = false;
  std::uint32_t units = 0;
  for (std::size_t k = 0; k < models.size(); ++k) {
    if (!(weights[k] >= 0) || !std::isfinite(weights[k]))
      throw belady::invalid_argument("weighted_ensemble: weight " + std::to_string(k) + " is " +
                                     std::to_string(weights[k]) + "; weights must be finite and >= 0");
    if (models[k] == nullptr) throw belady::invalid_argument("weighted_ensemble: model " + std::to_string(k) + " is null");
    const model_kind kind = models[k]->kind;
    if (kind == model_kind::linear_int8 || kind == model_kind::mlp_int8)
      throw belady::invalid_argument("weighted_ensemble: model " + std::to_string(k) +
                                     " is int8-quantized; ensembles combine fp32 models");
    validate(*models[k]);
    total += weights[k];
    if (weights[k] == 0) continue;
    any_mlp = any_mlp || kind == model_kind::mlp;
    units += kind == model_kind::mlp ? models[k]->hidden : 2;
  }
  if (!(total > 0)) throw belady::invalid_argument("weighted_ensemble: all weights are 0");
  if (any_mlp && units > std::uint32_t(max_hidden))
    throw belady::invalid_argument("weighted_ensemble: the models need " + std::to_string(units) +
                                   " hidden units side by side; an MLP has at most " + std::to_string(max_hidden));

  model_params out;
  out.kind = any_mlp ? model_kind::mlp : model_kind::linear;
  // The shared normalisation: per feature, the first contributing model that does not silence it.
  for (int i = 0; i < feature_count; ++i)
    for (std::size_t k = 0; k < models.size(); ++k)
      if (weights[k] > 0 && models[k]->inv_std[i] != 0.0f) {
        out.mean[i] = models[k]->mean[i];
        out.inv_std[i] = models[k]->inv_std[i];
        break;
      }

  double bias = 0;
  std::uint32_t unit = 0;
  for (std::size_t k = 0; k < models.size(); ++k) {
    if (weights[k] == 0) continue;
    const model_params& m = *models[k];
    const double a = weights[k] / total;
    const row_transform t{m.mean, m.inv_std, out.mean, out.inv_std};
    if (!any_mlp) {
      float row[feature_count];
      bias += a * (double(m.bias) + t.apply(m.w, row));
      for (int i = 0; i < feature_count; ++i) out.w[i] += static_cast<float>(a * row[i]);
    } else if (m.kind == model_kind::linear) {
      // w.z + b = relu(w.z) - relu(-w.z) + b
      const double c = t.apply(m.w, out.w1[unit]);
      out.b1[unit] = static_cast<float>(c);
      out.w2[unit] = static_cast<float>(a);
      for (int i = 0; i < feature_count; ++i) out.w1[unit + 1][i] = -out.w1[unit][i];
      out.b1[unit + 1] = static_cast<float>(-c);
      out.w2[unit + 1] = static_cast<float>(-a);
      unit += 2;
      bias += a * m.bias;
    } else {
      for (std::uint32_t h = 0; h < m.hidden; ++h, ++unit) {
        out.b1[unit] = static_cast<float>(double(m.b1[h]) + t.apply(m.w1[h], out.w1[unit]));
        out.w2[unit] = static_cast<float>(a * m.w2[h]);
      }
      bias += a * m.b2;
    }
  }
  if (any_mlp) {
    out.hidden = unit;
    out.b2 = static_cast<float>(bias);
  } else {
    out.bias = static_cast<float>(bias);
  }
  validate(out);
  return out;
}

}  // namespace belady::model
