// Stream features on patterns whose values are known, and the built-in classifier on held-out
// synthetic windows (seeds the fit never saw): accuracy >= 90 %, expected calibration error
// < 0.05, and the blend of mixes.
#include <gtest/gtest.h>

#include <belady/error.hpp>
#include <belady/workload.hpp>

#include <random>
#include <vector>

#include "evaluate.hpp"
#include "windows.hpp"

namespace {

namespace wl = belady::workload;

int index_of(std::string_view name) {
  for (int i = 0; i < wl::stream_feature_count; ++i)
    if (wl::feature_name(i) == name) return i;
  ADD_FAILURE() << "no feature " << name;
  return 0;
}

TEST(StreamFeatures, KnownPatternsGiveKnownValues) {
  std::vector<std::uint64_t> scan(4096), loop(4096);
  for (std::size_t i = 0; i < scan.size(); ++i) scan[i] = 1000 + i, loop[i] = 7 * (i % 256) + 1;
  const auto s = wl::compute_stream_features(scan);
  EXPECT_FLOAT_EQ(s[index_of("unique_ratio")], 1.0f);
  EXPECT_FLOAT_EQ(s[index_of("reuse_fraction")], 0.0f);
  EXPECT_NEAR(s[index_of("sequential_keys")], 1.0f, 1e-6);
  EXPECT_FLOAT_EQ(s[index_of("new_run_max")], 1.0f);
  const auto l = wl::compute_stream_features(loop);
  EXPECT_NEAR(l[index_of("unique_ratio")], 256.0 / 4096, 1e-6);
  // Every reuse in a loop of 256 keys has 255 distinct keys in between: distance 255/256.
  EXPECT_NEAR(l[index_of("stack_distance_p10")], 255.0 / 256, 1e-6);
  EXPECT_NEAR(l[index_of("stack_distance_p90")], 255.0 / 256, 1e-6);
  EXPECT_FLOAT_EQ(l[index_of("periodicity")], 1.0f);
  EXPECT_NEAR(l[index_of("stack_distance_cv")], 0.0f, 1e-6);
  EXPECT_FLOAT_EQ(l[index_of("drift")], 0.0f);
  EXPECT_THROW((void)wl::compute_stream_features(std::vector<std::uint64_t>{1}), belady::invalid_argument);
}

TEST(StreamFeatures, ZipfAlphaIsEstimated) {
  std::mt19937_64 rng(3);
  for (const double alpha : {0.7, 1.0, 1.3}) {
    belady::workload::zipf_sampler z(100'000, alpha);
    std::vector<std::uint64_t> keys(50'000);
    for (auto& k : keys) k = z(rng);
    const auto f = wl::compute_stream_features(keys);
    EXPECT_NEAR(f[index_of("zipf_alpha")], alpha, 0.25) << alpha;
  }
}

TEST(WorkloadClassifier, HeldOutWindowsAreClassifiedAndCalibrated) {
  const wl::workload_classifier c;
  // Seeds far from the fit's (1, 1001, 2001): windows the classifier never saw.
  const auto windows = belady::workload_lab::make_windows(200, 4096, 777'777);
  const auto e = belady::workload_lab::evaluate(c, windows);
  std::string confusion;
  for (const auto& row : e.confusion) {
    for (int v : row) confusion += std::to_string(v) + " ";
    confusion += "\n";
  }
  EXPECT_GE(e.accuracy, 0.90) << confusion;
  EXPECT_LT(e.ece, 0.05);
  EXPECT_LT(e.blend_mae, 0.15) << "mean absolute error of the estimated shares of a mix";
}

TEST(WorkloadClassifier, ProbabilitiesAreADistribution) {
  const wl::workload_classifier c;
  std::vector<std::uint64_t> keys(2048);
  std::mt19937_64 rng(5);
  for (auto& k : keys) k = rng() % 100'000;
  const auto r = c.classify(keys);
  double sum = 0, blend = 0;
  for (double p : r.probability) sum += p;
  for (double b : r.blend) blend += b;
  EXPECT_NEAR(sum, 1.0, 1e-9);
  EXPECT_NEAR(blend, 1.0, 1e-9);
  EXPECT_EQ(r.confidence, r.probability[static_cast<int>(r.kind)]);
}

}  // namespace
