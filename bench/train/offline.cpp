#include "offline.hpp"

#include <chrono>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <unordered_map>

namespace belady::train {

using belady::model::feature_count;

dataset label_candidates(const std::vector<belady::replay::request>& trace,
                         const belady::replay::cache_engine_result& replay, double horizon_ticks) {
  // Per key, the ticks at which it is requested (ascending).
  std::unordered_map<std::uint64_t, std::vector<std::uint64_t>> ticks;
  ticks.reserve(trace.size() / 2);
  for (std::size_t i = 0; i < trace.size(); ++i)
    ticks[belady::replay::cache_key_of(trace[i].key)].push_back(replay.request_ticks[i]);
  const auto& c = replay.candidates;
  dataset d;
  d.x = c.features;
  d.y.resize(c.keys.size());
  const float censored = static_cast<float>(std::log2(1.0 + horizon_ticks));
  for (std::size_t i = 0; i < c.keys.size(); ++i) {
    float y = censored;
    if (auto it = ticks.find(c.keys[i]); it != ticks.end()) {
      const auto next = std::upper_bound(it->second.begin(), it->second.end(), c.times[i]);
      if (next != it->second.end()) {
        const double gap = static_cast<double>(*next - c.times[i]);
        y = static_cast<float>(std::log2(1.0 + std::min(gap, horizon_ticks)));
      }
    }
    d.y[i] = y;
  }
  return d;
}

offline_result train_offline(const std::vector<belady::replay::request>& trace, const offline_options& o) {
  offline_result result;
  belady::replay::cache_engine_options e;
  e.capacity = o.capacity;
  e.bucket_size = o.bucket_size;
  e.eviction = belady::policy::learned;
  e.learned_candidates = o.candidates;
  e.candidate_log = 2 * trace.size() + 16;  // at most two candidates per eviction, one eviction per request
  const double horizon = o.horizon_capacities * double(o.capacity);
  bool have_model = false;
  for (std::uint32_t round = 0; round < std::max<std::uint32_t>(o.rounds, 1); ++round) {
    e.model = have_model ? &result.model : nullptr;
    const auto replay = belady::replay::replay_cache(trace, e);
    result.round_miss_ratios.push_back(double(replay.misses) / double(replay.requests));
    result.dropped += replay.candidates.dropped;
    dataset all = label_candidates(trace, replay, horizon);
    dataset train, validation;
    split(all, o.validation_fraction, train, validation);
    if (train.size() == 0) break;  // nothing was evicted: the trace fits the cache
    const auto fit_started = std::chrono::steady_clock::now();
    result.model = o.family == model_family::linear ? fit_ridge(train, o.ridge)
                   : o.mlp_fitter                   ? o.mlp_fitter(train, o.mlp)
                                                    : fit_mlp(train, o.mlp);
    result.fit_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - fit_started).count();
    have_model = true;
    fit_report& r = result.report;
    double train_acc = 0;
    evaluate(result.model, train, r.train_mse, train_acc);
    evaluate(result.model, validation, r.validation_mse, r.validation_pairwise_accuracy);
    r.train_samples = train.size();
    r.validation_samples = validation.size();
    result.validation = std::move(validation);
    if (o.verbose)
      std::fprintf(stderr, "round %u: replay miss ratio %.4f, %zu samples, validation mse %.3f, pairwise %.3f\n",
                   round + 1, result.round_miss_ratios.back(), all.size(), r.validation_mse,
                   r.validation_pairwise_accuracy);
  }
  return result;
}

}  // namespace belady::train
