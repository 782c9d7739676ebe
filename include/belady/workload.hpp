#pragma once
/// @file
/// Workload classification: stream features over a window of (sampled) accesses, and a
/// classifier that names the access pattern (uniform random, zipfian, sequential scan, looping,
/// or a mix, with its blend). See docs/workload.md.
#include <array>
#include <cstdint>
#include <span>
#include <string_view>

#include "belady/types.hpp"

namespace belady::workload {

/// The classes the classifier knows.
enum class workload_class : std::uint8_t { uniform, zipfian, scan, looping, mixed };
inline constexpr int class_count = 5;
/// The pure classes a mix is made of (all but mixed).
inline constexpr int base_class_count = 4;

[[nodiscard]] constexpr std::string_view to_string(workload_class c) noexcept {
  switch (c) {
    case workload_class::uniform: return "uniform";
    case workload_class::zipfian: return "zipfian";
    case workload_class::scan: return "scan";
    case workload_class::looping: return "looping";
    case workload_class::mixed: return "mixed";
  }
  return "unknown";
}

/// Stream features of one window; each is scale-free (ratios, normalised distances), so windows
/// of a sampled stream and of the full stream look alike. Names and meanings: feature_name() and
/// docs/workload.md.
inline constexpr int stream_feature_count = 21;
using stream_features = std::array<float, stream_feature_count>;

[[nodiscard]] BELADY_API std::string_view feature_name(int i) noexcept;

/**
 * @brief The stream features of `keys`, a window of accesses in arrival order (at least 2).
 * O(n log n): stack distances with a Fenwick tree, frequencies with a hash map.
 * @throw belady::invalid_argument for fewer than 2 keys
 */
[[nodiscard]] BELADY_API stream_features compute_stream_features(std::span<const std::uint64_t> keys);

struct classification {
  workload_class kind = workload_class::mixed;
  std::array<double, class_count> probability{};  ///< calibrated, sums to 1
  double confidence = 0;                          ///< the largest probability
  /// Estimated shares of the pure patterns in the window (sums to 1): for a mix its blend, for a
  /// pure window close to one-hot.
  std::array<double, base_class_count> blend{};
};

/**
 * @brief Softmax classifier over standardised stream features (multinomial logistic regression,
 * calibrated by temperature scaling) and a softmax blend estimator. The built-in weights were
 * fitted on seeded synthetic windows (belady-workload-train); weights fitted elsewhere can be
 * supplied. Immutable and thread-safe.
 */
class BELADY_API workload_classifier {
 public:
  struct weights {
    std::array<float, stream_feature_count> mean{}, inv_std{};
    std::array<std::array<float, stream_feature_count + 1>, class_count> class_w{};  ///< last: bias
    float temperature = 1;
    std::array<std::array<float, stream_feature_count + 1>, base_class_count> blend_w{};
  };

  /// The built-in weights.
  workload_classifier();
  explicit workload_classifier(const weights& w) : w_(w) {}

  [[nodiscard]] classification classify(const stream_features& f) const;
  /// compute_stream_features + classify.
  [[nodiscard]] classification classify(std::span<const std::uint64_t> keys) const {
    return classify(compute_stream_features(keys));
  }
  [[nodiscard]] const weights& parameters() const noexcept { return w_; }

 private:
  weights w_;
};

}  // namespace belady::workload
