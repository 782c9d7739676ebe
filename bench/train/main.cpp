// belady-train: fits a learned-policy model offline from a trace and saves it.
//
//   belady-train --trace PATH --format FMT --capacity N --out model.bin
//                [--kind linear|mlp] [--hidden H] [--epochs E] [--rounds R] [--lambda L]
//                [--trainer builtin|torch]   (torch: the MLP fitted by libtorch, when built with it)
//                [--candidates K] [--part all|first-half|second-half] [--limit R] [--int8] [--quiet]
//
// Replays the trace through the real cache (host backend, learned policy), labels the logged
// eviction candidates with the time to their key's next request (censored at 4 x capacity
// ticks), fits, and repeats with the fitted model (--rounds). --int8 also quantizes.
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

#include "belady/model/model_io.hpp"
#if defined(BELADY_TRAIN_HAS_TORCH)
#include "belady/torch/trainer.hpp"
#endif
#include "offline.hpp"
#include "part.hpp"
#include "trace.hpp"

namespace {

[[noreturn]] void usage_error(const std::string& why) {
  std::cerr << "belady-train: " << why << "\n"
            << "usage: belady-train --trace PATH --format FMT --capacity N --out model.bin [--kind linear|mlp]\n"
            << "                    [--trainer builtin|torch]\n"
               "                    [--hidden H] [--epochs E] [--rounds R] [--lambda L] [--candidates K]\n"
               "                    [--part all|first-half|second-half] [--limit R] [--int8] [--quiet]\n";
  std::exit(2);
}

unsigned long long positive(const std::string& flag, const std::string& v) {
  char* end = nullptr;
  const unsigned long long x = std::strtoull(v.c_str(), &end, 10);
  if (end == v.c_str() || *end != '\0' || x == 0) usage_error(flag + " needs a positive integer, got '" + v + "'");
  return x;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace belady;
  replay::trace_spec spec;
  bool have_format = false, int8 = false;
  std::string out, part = "all";
  train::offline_options o;
  o.verbose = true;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage_error(a + " needs a value");
      return argv[++i];
    };
    if (a == "--trace") spec.path = value();
    else if (a == "--format") {
      const std::string f = value();
      const auto fmt = replay::parse_trace_format(f);
      if (!fmt) usage_error("unknown format '" + f + "'");
      spec.format = *fmt;
      have_format = true;
    } else if (a == "--capacity") o.capacity = positive(a, value());
    else if (a == "--out") out = value();
    else if (a == "--kind") {
      const std::string k = value();
      if (k == "linear") o.family = train::model_family::linear;
      else if (k == "mlp") o.family = train::model_family::mlp;
      else usage_error("unknown kind '" + k + "' (linear, mlp)");
    } else if (a == "--hidden") o.mlp.hidden = static_cast<std::uint32_t>(positive(a, value()));
    else if (a == "--epochs") o.mlp.epochs = static_cast<std::uint32_t>(positive(a, value()));
    else if (a == "--rounds") o.rounds = static_cast<std::uint32_t>(positive(a, value()));
    else if (a == "--lambda") o.ridge.lambda = std::strtod(value().c_str(), nullptr);
    else if (a == "--candidates") o.candidates = static_cast<std::uint32_t>(positive(a, value()));
    else if (a == "--part") part = value();
    else if (a == "--limit") spec.limit = positive(a, value());
    else if (a == "--int8") int8 = true;
    else if (a == "--quiet") o.verbose = false;
    else if (a == "--trainer") {
      const std::string t = value();
      if (t == "torch") {
#if defined(BELADY_TRAIN_HAS_TORCH)
        o.mlp_fitter = [](const train::dataset& d, const train::mlp_options& m) {
          tensor::mlp_train_options t;
          t.hidden = m.hidden;
          t.epochs = m.epochs;
          t.batch = m.batch;
          t.learning_rate = m.learning_rate;
          t.l2 = m.l2;
          t.seed = m.seed;
          return tensor::train_mlp(d.x.data(), d.y.data(), d.size(), t);
        };
#else
        usage_error("--trainer torch: this belady-train was built without libtorch (BELADY_TORCH)");
#endif
      } else if (t != "builtin") {
        usage_error("unknown trainer '" + t + "' (builtin, torch)");
      }
    }
    else usage_error("unknown argument '" + a + "'");
  }
  if (spec.path.empty() || !have_format || o.capacity == 0 || out.empty())
    usage_error("--trace, --format, --capacity and --out are required");
  try {
    auto trace = replay::load_trace(spec);
    replay::make_unit_size(trace);
    trace = replay::select_part(trace, part);
    auto result = train::train_offline(trace, o);
    if (result.report.train_samples == 0) {
      std::fprintf(stderr, "belady-train: no evictions at capacity %llu: nothing to learn from\n",
                   (unsigned long long)o.capacity);
      return 1;
    }
    model::model_params params = result.model;
    double int8_mse = 0, int8_pairwise = 0;
    if (int8) {
      params = model::quantize_int8(params);
      train::evaluate(params, result.validation, int8_mse, int8_pairwise);
    }
    model::model_info info;
    info.training_samples = result.report.train_samples;
    info.validation_loss = int8 ? int8_mse : result.report.validation_mse;
    info.validation_accuracy = int8 ? int8_pairwise : result.report.validation_pairwise_accuracy;
    info.note = "belady-train " + spec.path + " part=" + part + " capacity=" + std::to_string(o.capacity);
    model::save(out, params, info);
    std::printf("{\"out\":\"%s\",\"kind\":\"%s\",\"int8\":%s,\"train_samples\":%zu,\"validation_samples\":%zu,"
                "\"validation_mse\":%.5f,\"validation_pairwise_accuracy\":%.5f,\"bytes\":%zu,\"round_miss_ratios\":[",
                out.c_str(), o.family == train::model_family::linear ? "linear" : "mlp", int8 ? "true" : "false",
                result.report.train_samples, result.report.validation_samples, result.report.validation_mse,
                result.report.validation_pairwise_accuracy, model::serialized_size(params));
    for (std::size_t r = 0; r < result.round_miss_ratios.size(); ++r)
      std::printf("%s%.5f", r ? "," : "", result.round_miss_ratios[r]);
    std::printf("],\"dropped\":%llu,\"fit_seconds\":%.3f", (unsigned long long)result.dropped, result.fit_seconds);
    if (int8)
      std::printf(",\"fp32_bytes\":%zu,\"int8_validation_mse\":%.5f,\"int8_validation_pairwise_accuracy\":%.5f",
                  model::serialized_size(result.model), int8_mse, int8_pairwise);
    std::printf("}\n");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "belady-train: %s\n", e.what());
    return 1;
  }
  return 0;
}
