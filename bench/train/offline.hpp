#pragma once
// Offline training of the learned policy from a trace: replay the trace through the real cache
// (host backend) with the candidate log on, label every logged eviction candidate with what
// Belady would know (log2(1 + ticks until its key is requested again), censored at a horizon),
// fit, and repeat with the fitted model so the next round sees the candidates it would face.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "cache_engine.hpp"
#include "fit.hpp"
#include "request.hpp"

namespace belady::train {

enum class model_family { linear, mlp };

struct offline_options {
  std::uint64_t capacity = 0;        ///< cache capacity in objects
  std::uint32_t bucket_size = 128;
  std::uint32_t candidates = 16;
  model_family family = model_family::linear;
  ridge_options ridge;
  mlp_options mlp;
  std::uint32_t rounds = 2;          ///< round 1 replays in LRU order, later rounds with the model
  double horizon_capacities = 4.0;   ///< censoring horizon, in multiples of the capacity (ticks)
  double validation_fraction = 0.1;
  bool verbose = false;
  /// Replaces fit_mlp for the mlp family when set (belady-train --trainer torch).
  std::function<belady::model::model_params(const dataset&, const mlp_options&)> mlp_fitter;
};

struct offline_result {
  belady::model::model_params model;
  fit_report report;
  std::vector<double> round_miss_ratios;  ///< the replay's miss ratio in each round
  std::uint64_t dropped = 0;
  double fit_seconds = 0;  ///< wall time of the fits, all rounds
  dataset validation;  ///< the last round's held-out samples
};

/// Labels candidates from one replay: y = log2(1 + min(next request tick - decision tick, horizon)).
dataset label_candidates(const std::vector<belady::replay::request>& trace,
                         const belady::replay::cache_engine_result& replay, double horizon_ticks);

offline_result train_offline(const std::vector<belady::replay::request>& trace, const offline_options& o);

}  // namespace belady::train
