// belady-workload-train: fits the workload classifier on seeded synthetic windows and writes its
// weights as src/workload/builtin_weights.inc (compiled into the library), then reports accuracy,
// calibration and blend error on held-out windows of other seeds.
//
//   belady-workload-train [--per-class N] [--window W] [--seed S] [--steps N] [--out PATH]
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "evaluate.hpp"
#include "fit.hpp"
#include "windows.hpp"

namespace {

using namespace belady::workload_lab;
namespace wl = belady::workload;

std::vector<row> features_of(const std::vector<window>& ws) {
  std::vector<row> out;
  for (const window& w : ws) {
    const auto f = wl::compute_stream_features(w.keys);
    row r{};
    for (int i = 0; i < wl::stream_feature_count; ++i) r[i] = f[i];
    out.push_back(r);
  }
  return out;
}

template <std::size_t K>
void write_matrix(std::ofstream& o, const char* name, const softmax_weights<K>& m) {
  for (std::size_t k = 0; k < K; ++k) {
    o << "w." << name << "[" << k << "] = {";
    for (std::size_t i = 0; i < m[k].size(); ++i) o << (i ? ", " : "") << std::hexfloat << m[k][i] << "f";
    o << "};\n";
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t per_class = 600, n = 4096;
  std::uint64_t seed = 1;
  int steps = 3000;
  std::string out = "src/workload/builtin_weights.inc";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i], v = argv[i + 1];
    if (a == "--per-class") per_class = std::stoul(v);
    else if (a == "--window") n = std::stoul(v);
    else if (a == "--seed") seed = std::stoull(v);
    else if (a == "--steps") steps = std::stoi(v);
    else if (a == "--out") out = v;
    else {
      std::fprintf(stderr, "belady-workload-train: unknown argument %s\n", a.c_str());
      return 2;
    }
  }
  const auto train = make_windows(per_class, n, seed);
  const auto calibration = make_windows(per_class / 2, n, seed + 1000);
  const auto held_out = make_windows(per_class / 2, n, seed + 2000);
  std::vector<row> x = features_of(train);

  wl::workload_classifier::weights w;
  for (int i = 0; i < wl::stream_feature_count; ++i) {
    double mean = 0, var = 0;
    for (const row& r : x) mean += r[i];
    mean /= double(x.size());
    for (const row& r : x) var += (r[i] - mean) * (r[i] - mean);
    const double sd = std::sqrt(var / double(x.size()));
    w.mean[i] = static_cast<float>(mean);
    w.inv_std[i] = sd > 1e-9 ? static_cast<float>(1.0 / sd) : 0.0f;
  }
  auto standardise = [&](std::vector<row> rows) {
    for (row& r : rows)
      for (int i = 0; i < wl::stream_feature_count; ++i) r[i] = (r[i] - w.mean[i]) * w.inv_std[i];
    return rows;
  };
  x = standardise(x);
  std::vector<std::array<double, wl::class_count>> onehot;
  std::vector<std::array<double, wl::base_class_count>> blend;
  for (const window& win : train) {
    std::array<double, wl::class_count> t{};
    t[static_cast<int>(win.label)] = 1;
    onehot.push_back(t);
    blend.push_back(win.blend);
  }
  w.class_w = fit_softmax<wl::class_count>(x, onehot, 1e-3, steps);
  w.blend_w = fit_softmax<wl::base_class_count>(x, blend, 1e-3, steps);

  // Temperature: the one minimising the calibration windows' log loss (a grid is enough).
  std::vector<wl::stream_features> fc;
  for (const window& win : calibration) fc.push_back(wl::compute_stream_features(win.keys));
  double best_t = 1, best_loss = 1e300;
  for (double t = 0.3; t <= 4.0; t += 0.05) {
    w.temperature = static_cast<float>(t);
    const wl::workload_classifier c(w);
    double loss = 0;
    for (std::size_t r = 0; r < calibration.size(); ++r) {
      const auto p = c.classify(fc[r]).probability[static_cast<int>(calibration[r].label)];
      loss -= std::log(std::max(p, 1e-12));
    }
    if (loss < best_loss) best_loss = loss, best_t = t;
  }
  w.temperature = static_cast<float>(best_t);

  const wl::workload_classifier c(w);
  const evaluation e = evaluate(c, held_out);
  std::printf("{\"train_windows\":%zu,\"window\":%zu,\"temperature\":%.2f,\"held_out_accuracy\":%.4f,\"held_out_ece\":%.4f,"
              "\"blend_mae\":%.4f,\"us_per_window\":%.1f}\n",
              train.size(), n, best_t, e.accuracy, e.ece, e.blend_mae, e.microseconds_per_window);
  for (int a = 0; a < wl::class_count; ++a) {
    std::fprintf(stderr, "%-8s", std::string(wl::to_string(static_cast<wl::workload_class>(a))).c_str());
    for (int b = 0; b < wl::class_count; ++b) std::fprintf(stderr, " %5d", e.confusion[a][b]);
    std::fprintf(stderr, "\n");
  }

  std::ofstream o(out);
  o << "// Written by belady-workload-train --per-class " << per_class << " --window " << n << " --seed " << seed
    << " --steps " << steps << ": do not edit.\n"
    << "// Held-out accuracy " << e.accuracy << ", expected calibration error " << e.ece << ".\n";
  o << "w.mean = {";
  for (int i = 0; i < wl::stream_feature_count; ++i) o << (i ? ", " : "") << std::hexfloat << w.mean[i] << "f";
  o << "};\nw.inv_std = {";
  for (int i = 0; i < wl::stream_feature_count; ++i) o << (i ? ", " : "") << std::hexfloat << w.inv_std[i] << "f";
  o << "};\n";
  write_matrix(o, "class_w", w.class_w);
  write_matrix(o, "blend_w", w.blend_w);
  o << "w.temperature = " << std::hexfloat << w.temperature << "f;\n";
  return o ? 0 : 1;
}
