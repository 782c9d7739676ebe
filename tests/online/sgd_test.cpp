#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "belady/error.hpp"
#include "belady/model/model_io.hpp"
#include "online/sgd.hpp"

namespace bm = belady::model;
using belady::online::dequantized;
using belady::online::mean_squared_error;
using belady::online::pairwise_accuracy;
using belady::online::sgd_options;
using belady::online::sgd_report;
using belady::online::sgd_update;

namespace {

constexpr int F = bm::feature_count;

struct rows {
  std::vector<float> x, y;
  [[nodiscard]] std::size_t size() const { return y.size(); }
};

/// Features ~ N(3, 2); y = 2 x0 - x3 + 0.5 x7 + 1 + N(0, noise).
rows planted_linear(std::size_t n, std::uint64_t seed, float noise) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> feature(3.0f, 2.0f), error(0.0f, 1.0f);
  rows d;
  d.x.resize(n * F);
  d.y.resize(n);
  for (std::size_t r = 0; r < n; ++r) {
    float* row = &d.x[r * F];
    for (int i = 0; i < F; ++i) row[i] = feature(rng);
    d.y[r] = 2 * row[0] - row[3] + 0.5f * row[7] + 1 + noise * error(rng);
  }
  return d;
}

/// The planted function as a model, in the normalisation the trainer would fit (mean 3, std 2).
bm::model_params true_linear_model() {
  bm::model_params p;
  for (int i = 0; i < F; ++i) {
    p.mean[i] = 3.0f;
    p.inv_std[i] = 0.5f;
  }
  p.w[0] = 4.0f;  // 2 per raw unit = 4 per standard deviation
  p.w[3] = -2.0f;
  p.w[7] = 1.0f;
  p.bias = 1.0f + 3.0f * (2.0f - 1.0f + 0.5f);
  return p;
}

/// A linear model's weight per raw unit of feature i.
float raw_weight(const bm::model_params& p, int i) { return p.w[i] * p.inv_std[i]; }

bool same_bits(const bm::model_params& a, const bm::model_params& b) { return std::memcmp(&a, &b, sizeof a) == 0; }

/// Features ~ N(0, 1); y = |x0|: no linear function fits it (best MSE is var|x0| = 1 - 2/pi).
rows absolute_value(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> feature(0.0f, 1.0f);
  rows d;
  d.x.resize(n * F);
  d.y.resize(n);
  for (std::size_t r = 0; r < n; ++r) {
    for (int i = 0; i < F; ++i) d.x[r * F + i] = feature(rng);
    d.y[r] = std::fabs(d.x[r * F]);
  }
  return d;
}

bm::model_params empty_mlp(std::uint32_t hidden) {
  bm::model_params p;
  p.kind = bm::model_kind::mlp;
  p.hidden = hidden;
  return p;
}

}  // namespace

TEST(OnlineSgd, TheTestModelIsTheTrueFunction) {
  const rows d = planted_linear(1'000, 1, 0.0f);
  EXPECT_LT(mean_squared_error(true_linear_model(), d.x.data(), d.y.data(), d.size()), 1e-9);
}

TEST(OnlineSgd, LearnsAPlantedLinearFunctionFromScratch) {
  const rows d = planted_linear(20'000, 1, 0.1f);
  sgd_options o;
  o.epochs = 6;
  sgd_report r;
  // Default options: Adam's steps are ~learning_rate, so w0 (4 per standard deviation) is still
  // on its way after 470 steps, but most of the loss is gone.
  (void)sgd_update(bm::model_params{}, d.x.data(), d.y.data(), d.size(), o, &r);
  EXPECT_EQ(r.samples, d.size());
  EXPECT_LT(r.loss_after, 0.1 * r.loss_before);
  // At the bound it converges to the planted function.
  o.learning_rate = o.max_learning_rate;
  const bm::model_params p = sgd_update(bm::model_params{}, d.x.data(), d.y.data(), d.size(), o, &r);
  EXPECT_LT(r.loss_after, 0.001 * r.loss_before);
  EXPECT_LT(r.loss_after, 0.02);  // the noise alone is 0.01
  EXPECT_NO_THROW(bm::validate(p));
  EXPECT_EQ(p.kind, bm::model_kind::linear);
  EXPECT_NEAR(raw_weight(p, 0), 2.0f, 0.02f);
  EXPECT_NEAR(raw_weight(p, 3), -1.0f, 0.02f);
  EXPECT_NEAR(raw_weight(p, 7), 0.5f, 0.02f);
  EXPECT_GT(pairwise_accuracy(p, d.x.data(), d.y.data(), d.size()), 0.97);
}

TEST(OnlineSgd, FromScratchFitsTheNormalisationAndStartsAtTheLabelMean) {
  const rows d = planted_linear(20'000, 2, 0.1f);
  sgd_options o;
  o.epochs = 0;  // only the preparation of the start
  sgd_report r;
  const bm::model_params p = sgd_update(bm::model_params{}, d.x.data(), d.y.data(), d.size(), o, &r);
  double label_mean = 0;
  for (float v : d.y) label_mean += v;
  label_mean /= double(d.size());
  EXPECT_NEAR(p.bias, label_mean, 1e-4);
  for (int i = 0; i < F; ++i) {
    EXPECT_NEAR(p.mean[i], 3.0f, 0.05f) << i;
    EXPECT_NEAR(p.inv_std[i], 0.5f, 0.01f) << i;
    EXPECT_EQ(p.w[i], 0.0f) << i;
  }
  EXPECT_EQ(r.loss_after, r.loss_before);
}

TEST(OnlineSgd, AConstantFeatureIsSilencedNotAmplified) {
  rows d = planted_linear(5'000, 3, 0.1f);
  for (std::size_t r = 0; r < d.size(); ++r) d.x[r * F + 12] = 1.0f;  // e.g. "ghost" never set
  const bm::model_params p = sgd_update(bm::model_params{}, d.x.data(), d.y.data(), d.size(), sgd_options{});
  EXPECT_EQ(p.inv_std[12], 0.0f);
  EXPECT_EQ(p.mean[12], 1.0f);
  EXPECT_GT(p.inv_std[11], 0.4f);
  EXPECT_NO_THROW(bm::validate(p));
}

TEST(OnlineSgd, WarmStartFromTheTrueModelStaysNearIt) {
  const rows d = planted_linear(20'000, 4, 0.5f);
  const bm::model_params truth = true_linear_model();
  sgd_report r;
  const bm::model_params p = sgd_update(truth, d.x.data(), d.y.data(), d.size(), sgd_options{}, &r);
  EXPECT_NEAR(r.loss_before, 0.25, 0.01);  // the noise
  EXPECT_LE(r.loss_after, r.loss_before * 1.01);
  for (int i = 0; i < F; ++i) {
    // A usable normalisation is kept as is: the weights keep their meaning.
    EXPECT_EQ(p.mean[i], truth.mean[i]) << i;
    EXPECT_EQ(p.inv_std[i], truth.inv_std[i]) << i;
    EXPECT_NEAR(p.w[i], truth.w[i], 0.05f) << i;
  }
  EXPECT_NEAR(p.bias, truth.bias, 0.05f);
}

TEST(OnlineSgd, AFeatureTheStartSilencesIsLearnedWhenItVaries) {
  const rows d = planted_linear(20'000, 5, 0.1f);
  bm::model_params start = true_linear_model();
  start.inv_std[7] = 0.0f;  // as the offline trainer leaves a feature constant in its data
  start.w[7] = 5.0f;        // has no effect while the feature is silenced
  sgd_options o;
  o.epochs = 0;
  const bm::model_params prepared = sgd_update(start, d.x.data(), d.y.data(), d.size(), o);
  EXPECT_GT(prepared.inv_std[7], 0.4f);
  EXPECT_EQ(prepared.w[7], 0.0f);
  for (std::size_t r = 0; r < 100; ++r)  // the start predicts exactly as before
    EXPECT_FLOAT_EQ(bm::predict(prepared, &d.x[r * F]), bm::predict(start, &d.x[r * F])) << r;
  EXPECT_EQ(prepared.inv_std[0], start.inv_std[0]);  // the others are kept

  o.epochs = 4;
  sgd_report r;
  const bm::model_params p = sgd_update(start, d.x.data(), d.y.data(), d.size(), o, &r);
  EXPECT_NEAR(raw_weight(p, 7), 0.5f, 0.05f);
  EXPECT_LT(r.loss_after, 0.1 * r.loss_before);
}

TEST(OnlineSgd, L1DrivesAnIrrelevantWeightToZero) {
  const rows d = planted_linear(20'000, 6, 0.1f);
  sgd_options o;
  o.epochs = 6;
  o.learning_rate = o.max_learning_rate;
  o.l1 = 0.0f;
  o.l2 = 0.0f;
  const bm::model_params plain = sgd_update(bm::model_params{}, d.x.data(), d.y.data(), d.size(), o);
  o.l1 = 0.05f;
  const bm::model_params sparse = sgd_update(bm::model_params{}, d.x.data(), d.y.data(), d.size(), o);
  float largest_irrelevant_plain = 0, largest_irrelevant_sparse = 0;
  for (int i = 0; i < F; ++i) {
    if (i == 0 || i == 3 || i == 7) continue;
    largest_irrelevant_plain = std::max(largest_irrelevant_plain, std::fabs(plain.w[i]));
    largest_irrelevant_sparse = std::max(largest_irrelevant_sparse, std::fabs(sparse.w[i]));
  }
  const float smallest_relevant = std::min({std::fabs(sparse.w[0]), std::fabs(sparse.w[3]), std::fabs(sparse.w[7])});
  EXPECT_GT(smallest_relevant, 0.8f);  // x7: 1 per standard deviation
  EXPECT_EQ(largest_irrelevant_sparse, 0.0f);  // the soft threshold zeroes them exactly
  EXPECT_GT(largest_irrelevant_plain, 0.0f);  // without L1 they are not
}

TEST(OnlineSgd, TheLearningRateIsBounded) {
  const rows d = planted_linear(2'000, 7, 0.1f);
  sgd_options at_bound, huge, infinite, below;
  at_bound.learning_rate = at_bound.max_learning_rate;
  huge.learning_rate = 10.0f;
  infinite.learning_rate = std::numeric_limits<float>::infinity();
  below.learning_rate = 0.01f;
  const auto fit = [&](const sgd_options& o) {
    return sgd_update(bm::model_params{}, d.x.data(), d.y.data(), d.size(), o);
  };
  const bm::model_params reference = fit(at_bound);
  EXPECT_TRUE(same_bits(fit(huge), reference));
  EXPECT_TRUE(same_bits(fit(infinite), reference));
  EXPECT_FALSE(same_bits(fit(below), reference));  // the rate does matter below the bound
  // A lower bound wins over the requested rate too.
  sgd_options lowered = huge, exact;
  lowered.max_learning_rate = 1e-3f;
  exact.learning_rate = exact.max_learning_rate = 1e-3f;
  EXPECT_TRUE(same_bits(fit(lowered), fit(exact)));
}

TEST(OnlineSgd, DeterministicForASeed) {
  const rows d = planted_linear(3'000, 8, 0.1f);
  sgd_options o;
  o.seed = 42;
  const auto fit = [&](const bm::model_params& start, const sgd_options& options) {
    return sgd_update(start, d.x.data(), d.y.data(), d.size(), options);
  };
  EXPECT_TRUE(same_bits(fit(bm::model_params{}, o), fit(bm::model_params{}, o)));
  EXPECT_TRUE(same_bits(fit(empty_mlp(6), o), fit(empty_mlp(6), o)));
  sgd_options other = o;
  other.seed = 43;
  EXPECT_FALSE(same_bits(fit(bm::model_params{}, o), fit(bm::model_params{}, other)));
}

TEST(OnlineSgd, NonFiniteDataThrowsNamingTheRow) {
  rows d = planted_linear(1'000, 9, 0.1f);
  d.y[17] = std::nanf("");
  try {
    (void)sgd_update(bm::model_params{}, d.x.data(), d.y.data(), d.size(), sgd_options{});
    FAIL() << "a NaN label was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("y[17] is NaN"), std::string::npos) << e.what();
  }
  d.y[17] = 0.0f;
  d.x[3 * F + 2] = -std::numeric_limits<float>::infinity();
  try {
    (void)sgd_update(bm::model_params{}, d.x.data(), d.y.data(), d.size(), sgd_options{});
    FAIL() << "an infinite feature was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("x[3][2] is -Inf"), std::string::npos) << e.what();
  }
  EXPECT_THROW((void)sgd_update(bm::model_params{}, d.x.data(), d.y.data(), 0, sgd_options{}), std::runtime_error);
}

TEST(OnlineSgd, ANonFiniteLossThrows) {
  // Finite features whose weighted sum overflows float: predict() returns +Inf.
  rows d;
  d.x.assign(64 * F, 1e37f);
  d.y.assign(64, 1.0f);
  bm::model_params start;
  for (int i = 0; i < F; ++i) {
    start.inv_std[i] = 1.0f;
    start.w[i] = 10.0f;
  }
  EXPECT_THROW((void)sgd_update(start, d.x.data(), d.y.data(), 64, sgd_options{}), std::runtime_error);
}

TEST(OnlineSgd, UnusableOptionsAndStartsAreRejected) {
  const rows d = planted_linear(100, 10, 0.1f);
  const auto fit = [&](const bm::model_params& start, const sgd_options& o) {
    return sgd_update(start, d.x.data(), d.y.data(), d.size(), o);
  };
  sgd_options nan_rate, no_batch, negative_l1, no_bound;
  nan_rate.learning_rate = std::nanf("");
  no_batch.batch = 0;
  negative_l1.l1 = -1.0f;
  no_bound.max_learning_rate = 0.0f;
  for (const sgd_options& o : {nan_rate, no_batch, negative_l1, no_bound})
    EXPECT_THROW((void)fit(bm::model_params{}, o), belady::invalid_argument);
  bm::model_params broken = true_linear_model();
  broken.w[2] = std::nanf("");
  EXPECT_THROW((void)fit(broken, sgd_options{}), bm::invalid_model);
  EXPECT_THROW((void)fit(empty_mlp(0), sgd_options{}), bm::invalid_model);
}

TEST(OnlineSgd, MlpLearnsANonlinearTargetALinearModelCannot) {
  const rows d = absolute_value(20'000, 11);
  sgd_options o;
  o.epochs = 8;
  sgd_report linear, mlp;
  (void)sgd_update(bm::model_params{}, d.x.data(), d.y.data(), d.size(), o, &linear);
  // An all-zero MLP would have no gradient: the trainer initialises it from the seed.
  const bm::model_params p = sgd_update(empty_mlp(8), d.x.data(), d.y.data(), d.size(), o, &mlp);
  EXPECT_EQ(p.kind, bm::model_kind::mlp);
  EXPECT_EQ(p.hidden, 8u);
  EXPECT_NO_THROW(bm::validate(p));
  EXPECT_NEAR(linear.loss_after, 1 - 2 / 3.14159265, 0.02);
  EXPECT_LT(mlp.loss_after, 0.3 * mlp.loss_before);
  EXPECT_LT(mlp.loss_after, 0.3 * linear.loss_after);
}

TEST(OnlineSgd, Int8StartsTrainAsTheirFp32Equivalent) {
  const rows d = absolute_value(20'000, 12);
  sgd_options o;
  o.epochs = 8;
  const bm::model_params fp32 = sgd_update(empty_mlp(8), d.x.data(), d.y.data(), d.size(), o);
  const bm::model_params q = bm::quantize_int8(fp32);
  ASSERT_EQ(q.kind, bm::model_kind::mlp_int8);

  const bm::model_params back = dequantized(q);
  EXPECT_EQ(back.kind, bm::model_kind::mlp);
  EXPECT_EQ(back.qw2_scale, 0.0f);  // no int8 leftovers in an fp32 block
  for (std::size_t r = 0; r < 200; ++r)
    EXPECT_NEAR(bm::predict(back, &d.x[r * F]), bm::predict(q, &d.x[r * F]), 1e-4f) << r;

  sgd_report r;
  o.epochs = 1;
  const bm::model_params p = sgd_update(q, d.x.data(), d.y.data(), d.size(), o, &r);
  EXPECT_EQ(p.kind, bm::model_kind::mlp);
  EXPECT_NO_THROW(bm::validate(p));
  EXPECT_NEAR(r.loss_before, mean_squared_error(q, d.x.data(), d.y.data(), d.size()), 1e-5);
  EXPECT_LE(r.loss_after, r.loss_before * 1.01);

  // linear_int8 too.
  const rows lin = planted_linear(5'000, 13, 0.1f);
  const bm::model_params lq = bm::quantize_int8(true_linear_model());
  sgd_report lr;
  const bm::model_params lp = sgd_update(lq, lin.x.data(), lin.y.data(), lin.size(), sgd_options{}, &lr);
  EXPECT_EQ(lp.kind, bm::model_kind::linear);
  EXPECT_NO_THROW(bm::validate(lp));
  EXPECT_LT(lr.loss_after, 0.05);
}

TEST(OnlineSgd, LossAndPairwiseAccuracyByHand) {
  // One feature that matters: prediction = x0 (mean 0, inv_std 1, w0 = 1), other features 0.
  bm::model_params p;
  for (int i = 0; i < F; ++i) p.inv_std[i] = 1.0f;
  p.w[0] = 1.0f;
  std::vector<float> x(3 * F, 0.0f);
  x[0 * F] = 1.0f;
  x[1 * F] = 2.0f;
  x[2 * F] = 3.0f;
  const std::vector<float> y = {1.0f, 4.0f, 0.0f};  // errors 0, -2, 3
  EXPECT_DOUBLE_EQ(mean_squared_error(p, x.data(), y.data(), 3), 13.0 / 3.0);
  EXPECT_TRUE(std::isnan(mean_squared_error(p, x.data(), y.data(), 0)));

  const std::vector<float> increasing = {1.0f, 2.0f, 3.0f}, decreasing = {3.0f, 2.0f, 1.0f}, flat = {5, 5, 5};
  EXPECT_DOUBLE_EQ(pairwise_accuracy(p, x.data(), increasing.data(), 3), 1.0);
  EXPECT_DOUBLE_EQ(pairwise_accuracy(p, x.data(), decreasing.data(), 3), 0.0);
  EXPECT_TRUE(std::isnan(pairwise_accuracy(p, x.data(), flat.data(), 3)));  // no pair to order
  p.w[0] = 0.0f;  // a constant model orders nothing: ties count as wrong
  EXPECT_DOUBLE_EQ(pairwise_accuracy(p, x.data(), increasing.data(), 3), 0.0);
}
