#pragma once
// Judging a workload classifier on windows: accuracy, expected calibration error (15 equal-width
// confidence bins, the usual definition), the blend's mean absolute error on mixes, a confusion
// matrix, and the time per classification (features included).
#include <array>
#include <chrono>
#include <cmath>
#include <vector>

#include "belady/workload.hpp"
#include "windows.hpp"

namespace belady::workload_lab {

struct evaluation {
  double accuracy = 0;
  double ece = 0;
  double blend_mae = 0;  ///< mean over mixed windows of the mean |estimated - true share|
  double microseconds_per_window = 0;
  std::array<std::array<int, belady::workload::class_count>, belady::workload::class_count> confusion{};
};

inline evaluation evaluate(const belady::workload::workload_classifier& c, const std::vector<window>& windows) {
  constexpr int bins = 15;
  std::array<double, bins> conf_sum{}, correct{};
  std::array<int, bins> count{};
  evaluation e;
  double blend_err = 0;
  int mixes = 0, right = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (const window& w : windows) {
    const auto r = c.classify(w.keys);
    const bool ok = r.kind == w.label;
    right += ok;
    ++e.confusion[static_cast<int>(w.label)][static_cast<int>(r.kind)];
    const int b = std::min(bins - 1, static_cast<int>(r.confidence * bins));
    conf_sum[b] += r.confidence;
    correct[b] += ok;
    ++count[b];
    if (w.label == belady::workload::workload_class::mixed) {
      double err = 0;
      for (int k = 0; k < belady::workload::base_class_count; ++k) err += std::abs(r.blend[k] - w.blend[k]);
      blend_err += err / belady::workload::base_class_count;
      ++mixes;
    }
  }
  e.microseconds_per_window =
      std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count() / double(windows.size());
  e.accuracy = double(right) / double(windows.size());
  for (int b = 0; b < bins; ++b)
    if (count[b] > 0) e.ece += double(count[b]) / double(windows.size()) * std::abs(correct[b] / count[b] - conf_sum[b] / count[b]);
  e.blend_mae = mixes > 0 ? blend_err / mixes : 0;
  return e;
}

}  // namespace belady::workload_lab
