// weighted_ensemble: its prediction equals the weighted mean of its inputs' predictions (checked
// on random models with different normalisations and random inputs), and bad inputs are refused.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "belady/error.hpp"
#include "belady/model/ensemble.hpp"
#include "belady/model/model_io.hpp"
#include "model_test_util.hpp"

namespace belady::model {
namespace {

using test::random_model;

/// The ensemble's prediction against the weighted mean of the inputs' on random feature vectors.
void expect_weighted_mean(const std::vector<model_params>& models, const std::vector<double>& weights) {
  std::vector<const model_params*> ptrs;
  for (const auto& m : models) ptrs.push_back(&m);
  const model_params e = weighted_ensemble(ptrs, weights);
  double total = 0;
  for (double w : weights) total += w;
  std::mt19937 rng(7);
  std::normal_distribution<float> x(0.0f, 3.0f);
  for (int trial = 0; trial < 200; ++trial) {
    float f[feature_count];
    for (float& v : f) v = x(rng);
    double want = 0;
    for (std::size_t k = 0; k < models.size(); ++k) want += weights[k] / total * predict(models[k], f);
    const float got = predict(e, f);
    EXPECT_NEAR(got, want, 1e-4 * (1.0 + std::abs(want))) << "trial " << trial;
  }
}

TEST(Ensemble, LinearModelsCombineIntoALinearModel) {
  std::vector<model_params> m{random_model(model_kind::linear, 0, 1), random_model(model_kind::linear, 0, 2),
                              random_model(model_kind::linear, 0, 3)};
  std::vector<const model_params*> ptrs{&m[0], &m[1], &m[2]};
  const std::vector<double> w{0.5, 0.3, 0.2};
  EXPECT_EQ(weighted_ensemble(ptrs, w).kind, model_kind::linear);
  expect_weighted_mean(m, w);
}

TEST(Ensemble, MlpsPlaceTheirUnitsSideBySideAndLinearModelsTakeTwo) {
  std::vector<model_params> m{random_model(model_kind::mlp, 8, 4), random_model(model_kind::linear, 0, 5),
                              random_model(model_kind::mlp, 12, 6)};
  std::vector<const model_params*> ptrs{&m[0], &m[1], &m[2]};
  const std::vector<double> w{2.0, 1.0, 1.0};  // normalised by their sum
  const model_params e = weighted_ensemble(ptrs, w);
  EXPECT_EQ(e.kind, model_kind::mlp);
  EXPECT_EQ(e.hidden, 8u + 2u + 12u);
  expect_weighted_mean(m, w);
}

TEST(Ensemble, SilencedFeaturesAndZeroWeightsAreHandled) {
  std::vector<model_params> m{random_model(model_kind::linear, 0, 7), random_model(model_kind::linear, 0, 8)};
  m[0].inv_std[3] = 0.0f;  // silenced in the first model only: the second's normalisation is used
  m[0].inv_std[5] = 0.0f;
  m[1].inv_std[5] = 0.0f;  // silenced in both
  expect_weighted_mean(m, {0.6, 0.4});
  // A weight of 0 drops its model, even one that would not fit.
  std::vector<model_params> big{random_model(model_kind::mlp, 30, 9), random_model(model_kind::mlp, 30, 10)};
  expect_weighted_mean(big, {1.0, 0.0});
}

TEST(Ensemble, OneModelIsReproduced) {
  std::vector<model_params> m{random_model(model_kind::mlp, 16, 11)};
  expect_weighted_mean(m, {0.3});
}

TEST(Ensemble, BadInputsAreRefusedWithTheReason) {
  const model_params a = random_model(model_kind::mlp, 20, 12), b = random_model(model_kind::mlp, 20, 13);
  const model_params* two[] = {&a, &b};
  auto message = [](auto&& f) {
    try {
      f();
    } catch (const belady::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("no exception");
  };
  EXPECT_NE(message([&] { (void)weighted_ensemble(two, std::vector<double>{0.5, 0.5}); }).find("40 hidden units"),
            std::string::npos);
  EXPECT_NE(message([&] { (void)weighted_ensemble(two, std::vector<double>{0.5}); }).find("2 models but 1 weights"),
            std::string::npos);
  EXPECT_NE(message([&] { (void)weighted_ensemble(two, std::vector<double>{-1.0, 2.0}); }).find("weight 0"),
            std::string::npos);
  EXPECT_NE(message([&] { (void)weighted_ensemble(two, std::vector<double>{0.0, 0.0}); }).find("all weights are 0"),
            std::string::npos);
  EXPECT_NE(message([&] { (void)weighted_ensemble({}, {}); }).find("no models"), std::string::npos);
  model_params q = random_model(model_kind::linear, 0, 14);
  q.kind = model_kind::linear_int8;
  const model_params* quantized[] = {&q};
  EXPECT_NE(message([&] { (void)weighted_ensemble(quantized, std::vector<double>{1.0}); }).find("int8"), std::string::npos);
  model_params nan = random_model(model_kind::linear, 0, 15);
  nan.w[0] = std::nanf("");
  const model_params* bad[] = {&nan};
  EXPECT_THROW((void)weighted_ensemble(bad, std::vector<double>{1.0}), invalid_model);
}

}  // namespace
}  // namespace belady::model
