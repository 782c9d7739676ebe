// The tensor API (round trips for every value dtype and both key widths, zero-copy outputs, the
// checks on dtype, shape, contiguity and grad) and the libtorch trainer (it learns what a linear
// model cannot, and its export predicts what the network computed).
#include <gtest/gtest.h>

#include <belady/belady.hpp>
#include <belady/model/registry.hpp>
#include <belady/torch/tensor_api.hpp>
#include <belady/torch/trainer.hpp>
#include <torch/torch.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

namespace {

namespace bt = belady::tensor;

template <class Key, class T>
belady::cache<Key, T> make_cache(std::size_t dim) {
  belady::cache_config c;
  c.capacity = 4096;
  c.dim = dim;
  c.executor = belady::backend::host;
  c.host_threads = 1;
  return belady::cache<Key, T>(c);
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const belady::invalid_argument& e) {
    return e.what();
  }
  return "no invalid_argument";
}

template <class Key, class T>
void round_trip() {
  auto c = make_cache<Key, T>(5);
  const auto keys = torch::arange(1, 101, torch::TensorOptions().dtype(bt::key_dtype<Key>()));
  const auto values = (torch::rand({100, 5}) * 100).to(bt::value_dtype<T>());
  const auto r = bt::insert_or_assign(c, keys, values);
  EXPECT_EQ(r.inserted, 100u);
  const auto probe = torch::arange(51, 151, torch::TensorOptions().dtype(bt::key_dtype<Key>()));
  at::Tensor out, found;
  std::tie(out, found) = bt::find(c, probe);
  EXPECT_EQ(found.sum().item<std::int64_t>(), 50);
  EXPECT_TRUE(torch::equal(out.slice(0, 0, 50), values.slice(0, 50, 100)));
  EXPECT_FALSE(found[60].item<bool>());
}

TEST(TensorApi, RoundTripsEveryValueDtypeAndKeyWidth) {
  round_trip<std::uint64_t, float>();
  round_trip<std::uint64_t, belady::half>();
  round_trip<std::uint64_t, belady::bfloat16>();
  round_trip<std::uint64_t, std::int8_t>();
  round_trip<std::uint64_t, std::byte>();
  round_trip<std::uint32_t, float>();
}

TEST(TensorApi, OutputsAreWrittenInPlaceAndFindOrInsertReturnsStoredRows) {
  auto c = make_cache<std::uint64_t, float>(4);
  const auto keys = torch::tensor({10, 20, 30}, torch::kLong);
  bt::insert_or_assign(c, keys.slice(0, 0, 2), torch::ones({2, 4}));
  auto values = torch::full({3, 4}, 7.0f);
  auto found = torch::zeros({3}, torch::kBool);
  const void* storage = values.data_ptr();
  EXPECT_EQ(bt::find_or_insert(c, keys, values, found), 2u);
  EXPECT_EQ(values.data_ptr(), storage) << "no copy of the output";
  EXPECT_TRUE(torch::equal(found, torch::tensor({true, true, false})));
  EXPECT_TRUE(torch::equal(values[0], torch::ones({4})));
  EXPECT_TRUE(torch::equal(values[2], torch::full({4}, 7.0f))) << "the absent key's row was inserted as given";
  auto [again, found_again] = bt::find(c, keys.slice(0, 2, 3));
  EXPECT_TRUE(found_again[0].item<bool>());
  EXPECT_TRUE(torch::equal(again[0], torch::full({4}, 7.0f)));
}

TEST(TensorApi, NonContiguousInputsAreCopiedAndWork) {
  auto c = make_cache<std::uint64_t, float>(2);
  const auto keys = torch::arange(1, 21, torch::kLong).slice(0, 0, 20, 2);  // stride 2
  const auto values = torch::rand({2, 10}).t();                             // transposed [10, 2]
  ASSERT_FALSE(keys.is_contiguous());
  ASSERT_FALSE(values.is_contiguous());
  bt::insert_or_assign(c, keys, values);
  auto [out, found] = bt::find(c, keys);
  EXPECT_TRUE(found.all().item<bool>());
  EXPECT_TRUE(torch::equal(out, values));
}

TEST(TensorApi, BadTensorsAreRefusedNamingWhatIsWrongAndNothingChanges) {
  auto c = make_cache<std::uint64_t, float>(4);
  const auto keys = torch::tensor({1, 2}, torch::kLong);
  bt::insert_or_assign(c, keys, torch::ones({2, 4}));
  auto expect = [&](const std::function<void()>& f, const std::string& words) {
    const std::string e = error_of(f);
    EXPECT_NE(e.find(words), std::string::npos) << e;
  };
  expect([&] { bt::insert_or_assign(c, keys.to(torch::kInt), torch::ones({2, 4})); }, "keys: dtype Int, expected Long");
  expect([&] { bt::insert_or_assign(c, keys, torch::ones({2, 4}, torch::kDouble)); }, "values: dtype Double, expected Float");
  expect([&] { bt::insert_or_assign(c, keys, torch::ones({2, 3})); }, "values: shape [2, 3], expected [2, 4]");
  expect([&] { bt::insert_or_assign(c, keys.view({1, 2}), torch::ones({2, 4})); }, "keys: expected a 1-D tensor");
  auto found = torch::zeros({2}, torch::kBool);
  auto transposed = torch::zeros({4, 2}).t();  // [2, 4] but column-major
  expect([&] { bt::find(c, keys, transposed, found); }, "values: not contiguous");
  auto wide = torch::zeros({4, 4}).slice(0, 0, 4, 2);  // [2, 4] but not contiguous
  expect([&] { bt::find(c, keys, wide, found); }, "values: not contiguous");
  auto grad = torch::zeros({2, 4}, torch::requires_grad());
  expect([&] { bt::find(c, keys, grad, found); }, "values: requires grad");
  auto ints = torch::zeros({2}, torch::kInt);
  auto out = torch::zeros({2, 4});
  expect([&] { bt::find(c, keys, out, ints); }, "found: dtype Int, expected Bool");
  EXPECT_EQ(c.size(), 2u);
  auto [v, f] = bt::find(c, keys);
  EXPECT_TRUE(torch::equal(v, torch::ones({2, 4}))) << "nothing stored changed";
}

/// y = |x0 - x1|: a linear model cannot rank this; one hidden ReLU layer can.
void nonlinear_rows(std::size_t n, std::vector<float>& x, std::vector<float>& y, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> g(0, 1);
  x.assign(n * belady::model::feature_count, 0.0f);
  y.resize(n);
  for (std::size_t r = 0; r < n; ++r) {
    for (int i = 0; i < belady::model::feature_count; ++i) x[r * belady::model::feature_count + i] = g(rng);
    x[r * belady::model::feature_count + 3] = 5.0f;  // a constant feature: inv_std 0
    y[r] = std::abs(x[r * belady::model::feature_count] - x[r * belady::model::feature_count + 1]);
  }
}

TEST(TorchTrainer, LearnsANonlinearTargetAndTheExportPredictsLikeTheNetwork) {
  std::vector<float> x, y, vx, vy;
  nonlinear_rows(20'000, x, y, 1);
  nonlinear_rows(2'000, vx, vy, 2);
  bt::mlp_train_options o;
  o.hidden = 16;
  o.epochs = 10;
  bt::mlp_train_report r;
  const auto p = bt::train_mlp(x.data(), y.data(), y.size(), o, &r);
  EXPECT_EQ(p.kind, belady::model::model_kind::mlp);
  EXPECT_EQ(p.hidden, 16u);
  EXPECT_EQ(p.inv_std[3], 0.0f) << "the constant feature is silenced";
  EXPECT_LT(r.loss_after, 0.2 * r.loss_before) << r.loss_before << " -> " << r.loss_after;
  EXPECT_NEAR(r.loss_after, r.network_loss, 1e-4 * r.network_loss) << "the export computes what the network did";
  double mse = 0, var = 0, mean = 0;
  for (float v : vy) mean += v;
  mean /= double(vy.size());
  for (std::size_t i = 0; i < vy.size(); ++i) {
    const double d = belady::model::predict(p, &vx[i * belady::model::feature_count]) - vy[i];
    mse += d * d;
    var += (vy[i] - mean) * (vy[i] - mean);
  }
  EXPECT_LT(mse / var, 0.1) << "held-out R^2 above 0.9";
  const auto again = bt::train_mlp(x.data(), y.data(), y.size(), o);
  EXPECT_EQ(0, std::memcmp(&again, &p, sizeof p)) << "the same seed and data give the same model";
  // Installable as it is.
  belady::cache_config lc;
  lc.capacity = 1024;
  lc.eviction = belady::policy::learned;
  lc.executor = belady::backend::host;
  belady::cache<std::uint64_t, float> learned(lc);
  EXPECT_GE(learned.models().install(p), 1u);
}

TEST(TorchTrainer, BadInputIsRefused) {
  std::vector<float> x(belady::model::feature_count, 1.0f), y(1, 1.0f);
  bt::mlp_train_options o;
  EXPECT_THROW((void)bt::train_mlp(x.data(), y.data(), 0, o), belady::invalid_argument);
  o.hidden = 99;
  EXPECT_THROW((void)bt::train_mlp(x.data(), y.data(), 1, o), belady::invalid_argument);
  o.hidden = 4;
  y[0] = std::nanf("");
  EXPECT_THROW((void)bt::train_mlp(x.data(), y.data(), 1, o), belady::invalid_argument);
}

}  // namespace
