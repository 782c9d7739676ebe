#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <stdexcept>
#include <vector>

#include "belady/model/model_io.hpp"
#include "online/sgd.hpp"

namespace bm = belady::model;
using belady::online::sgd_options;
using belady::online::sgd_report;
using belady::online::sgd_update;

namespace {

struct data {
  std::vector<float> x, y;
  std::size_t n = 0;
};

/// y = 2 x0 - x3 + 0.5 x7 + 1 (+ noise), features ~ N(3, 2).
data planted(std::size_t n, std::uint64_t seed, float noise = 0.01f) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> f(3.0f, 2.0f), e(0.0f, noise);
  data d;
  d.n = n;
  d.x.resize(n * bm::feature_count);
  d.y.resize(n);
  for (std::size_t r = 0; r < n; ++r) {
    float* row = &d.x[r * bm::feature_count];
    for (int i = 0; i < bm::feature_count; ++i) row[i] = f(rng);
    d.y[r] = 2 * row[0] - row[3] + 0.5f * row[7] + 1 + e(rng);
  }
  return d;
}

}  // namespace

TEST(OnlineSgd, LearnsAPlantedLinearFunctionFromScratch) {
  const data d = planted(20'000, 1);
  sgd_options o;
  o.epochs = 6;
  sgd_report r;
  const bm::model_params p = sgd_update(bm::model_params{}, d.x.data(), d.y.data(), d.n, o, &r);
  EXPECT_LT(r.loss_after, 0.1 * r.loss_before);
  EXPECT_NO_THROW(bm::validate(p));
  EXPECT_EQ(p.kind, bm::model_kind::linear);
}

TEST(OnlineSgd, WarmStartFromAGoodModelStaysGood) {
  const data d = planted(10'000, 2);
  sgd_options o;
  o.epochs = 6;
  const bm::model_params good = sgd_update(bm::model_params{}, d.x.data(), d.y.data(), d.n, o);
  const data fresh = planted(10'000, 3);
  sgd_report r;
  o.epochs = 1;
  o.learning_rate = 1e-3f;
  (void)sgd_update(good, fresh.x.data(), fresh.y.data(), fresh.n, o, &r);
  EXPECT_LE(r.loss_after, r.loss_before * 1.05 + 1e-4);
  for (int i = 0; i < bm::feature_count; ++i) EXPECT_EQ(good.inv_std[i] > 0, true);
}

TEST(OnlineSgd, L1DrivesIrrelevantWeightsTowardZero) {
  const data d = planted(20'000, 4);
  sgd_options o;
  o.epochs = 6;
  o.l1 = 0.05f;
  const bm::model_params p = sgd_update(bm::model_params{}, d.x.data(), d.y.data(), d.n, o);
  // In normalised units the relevant weights are about 4, 2 and 1; the rest should be ~0.
  EXPECT_GT(std::fabs(p.w[0]), 1.0f);
  for (int i : {1, 2, 5, 9, 15}) EXPECT_LT(std::fabs(p.w[i]), 0.05f) << i;
}

TEST(OnlineSgd, TheLearningRateIsBounded) {
  const data d = planted(2'000, 5);
  sgd_options capped, huge;
  huge.learning_rate = 10.0f;
  capped.learning_rate = capped.max_learning_rate;
  const bm::model_params a = sgd_update(bm::model_params{}, d.x.data(), d.y.data(), d.n, huge);
  const bm::model_params b = sgd_update(bm::model_params{}, d.x.data(), d.y.data(), d.n, capped);
  for (int i = 0; i < bm::feature_count; ++i) EXPECT_EQ(a.w[i], b.w[i]);
  EXPECT_EQ(a.bias, b.bias);
}

TEST(OnlineSgd, DeterministicForASeed) {
  const data d = planted(3'000, 6);
  sgd_options o;
  o.seed = 42;
  const bm::model_params a = sgd_update(bm::model_params{}, d.x.data(), d.y.data(), d.n, o);
  const bm::model_params b = sgd_update(bm::model_params{}, d.x.data(), d.y.data(), d.n, o);
  for (int i = 0; i < bm::feature_count; ++i) EXPECT_EQ(a.w[i], b.w[i]);
}

TEST(OnlineSgd, NonFiniteLabelsOrNoDataThrow) {
  data d = planted(1'000, 7);
  d.y[17] = std::nanf("");
  EXPECT_THROW(sgd_update(bm::model_params{}, d.x.data(), d.y.data(), d.n, sgd_options{}), std::runtime_error);
  EXPECT_THROW(sgd_update(bm::model_params{}, d.x.data(), d.y.data(), 0, sgd_options{}), std::runtime_error);
}

TEST(OnlineSgd, MlpLearnsANonlinearTargetAndInt8StartsWork) {
  std::mt19937_64 rng(8);
  std::normal_distribution<float> f(0.0f, 1.0f);
  const std::size_t n = 20'000;
  std::vector<float> x(n * bm::feature_count), y(n);
  for (std::size_t r = 0; r < n; ++r) {
    for (int i = 0; i < bm::feature_count; ++i) x[r * bm::feature_count + i] = f(rng);
    y[r] = std::fabs(x[r * bm::feature_count]);
  }
  bm::model_params start;
  start.kind = bm::model_kind::mlp;
  start.hidden = 8;
  std::normal_distribution<float> w(0.0f, 0.25f);
  for (int h = 0; h < 8; ++h) {
    for (int i = 0; i < bm::feature_count; ++i) start.w1[h][i] = w(rng);
    start.w2[h] = w(rng);
  }
  sgd_options o;
  o.epochs = 8;
  sgd_report r;
  const bm::model_params p = sgd_update(start, x.data(), y.data(), n, o, &r);
  EXPECT_LT(r.loss_after, 0.3 * r.loss_before);
  EXPECT_EQ(p.kind, bm::model_kind::mlp);
  EXPECT_NO_THROW(bm::validate(p));
  // An int8 start (the quantized result) trains as its fp32 equivalent.
  const bm::model_params q = bm::quantize_int8(p);
  sgd_report rq;
  o.epochs = 1;
  const bm::model_params pq = sgd_update(q, x.data(), y.data(), n, o, &rq);
  EXPECT_EQ(pq.kind, bm::model_kind::mlp);
  EXPECT_LT(rq.loss_after, 0.3 * r.loss_before);
}
