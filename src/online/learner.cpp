#include "online/learner.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <random>
#include <stdexcept>
#include <string_view>
#include <utility>

#include "belady/detail/table.hpp"
#include "belady/error.hpp"
#include "belady/logging.hpp"
#include "belady/model/ensemble.hpp"
#include "online/sgd.hpp"
#include "online/stats.hpp"

namespace belady::online {
namespace {

using model::feature_count;

double ratio(std::uint64_t num, std::uint64_t den) { return den == 0 ? 0.0 : double(num) / double(den); }

double ms_between(std::chrono::steady_clock::time_point a, std::chrono::steady_clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

std::string format(const char* fmt, double a = 0, double b = 0, double c = 0, double d = 0, double e = 0) {
  char buf[512];
  std::snprintf(buf, sizeof buf, fmt, a, b, c, d, e);
  return buf;
}

/// How the notes of the ensembles the learner installs begin (it tells them from class models).
constexpr std::string_view ensemble_note = "ensemble";

/// The baseline the registry can always roll back to. With both weights 0 a recency model: it
/// ranks by recency alone, so the cache evicts the least recently used slot of the whole bucket
/// under it (model::ranks_by_recency_alone), not of a sample of candidates. Otherwise recency
/// plus S3-FIFO's lessons and frequency as weights of the linear model: a key seen once since it
/// entered (one-hit wonders, scans) looks `newcomer_shift` doublings staler, so it leaves before
/// established keys of about the same recency (S3-FIFO's small queue); a key that returned from
/// the ghost filter looks as many fresher (S3-FIFO's ghost queue, ARC's ghost lists); each
/// doubling of a key's accesses since it entered makes it look `frequency_weight` doublings
/// fresher (what W-TinyLFU's frequency comparison rewards); optionally each doubling of its last
/// gap between accesses makes it look `gap_weight` doublings fresher (a key on a long cycle is
/// not gone: off by default, see online.baseline_gap_weight). The trainer does not start from
/// it: its first model is fitted from scratch on the sampled data.
model::model_params baseline_model(float newcomer_shift, float frequency_weight, float gap_weight) {
  model::model_params p;
  p.kind = model::model_kind::linear;
  for (int i = 0; i < feature_count; ++i) p.inv_std[i] = 1.0f;
  p.w[model::feature::log_delta] = 1.0f;
  p.w[model::feature::once] = newcomer_shift;
  p.w[model::feature::ghost] = -newcomer_shift;
  p.w[model::feature::log_count] = -frequency_weight;
  if (gap_weight != 0) p.w[model::feature::log_gap1] = -gap_weight;  // not -0: the same bytes as before it existed
  return p;
}

/// A fresh MLP of `hidden` units: small seeded weights (zero weights would never break symmetry),
/// normalisation left for the trainer to fit from the data.
model::model_params fresh_mlp(std::uint32_t hidden, std::uint64_t seed) {
  model::model_params p;
  p.kind = model::model_kind::mlp;
  p.hidden = hidden;
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> w(0.0f, 1.0f / std::sqrt(float(feature_count)));
  for (std::uint32_t h = 0; h < hidden; ++h) {
    for (int i = 0; i < feature_count; ++i) p.w1[h][i] = w(rng);
    p.w2[h] = w(rng) * 0.1f;
  }
  return p;
}

}  // namespace

void to_requests(const std::uint64_t* keys, const std::uint64_t* ticks, const std::uint8_t* kinds, std::size_t n,
                 std::unordered_map<std::uint64_t, std::uint8_t>& last_kind, std::vector<request_event>& out) {
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint8_t kind = kinds[i];
    const bool hit = (kind & detail::sample_hit) != 0;
    bool request = true;
    if ((kind & detail::sample_write) != 0 && !hit) {
      // An insert right after the key's sampled miss is the read-through fill of that miss.
      const auto it = last_kind.find(keys[i]);
      const bool after_miss = it != last_kind.end() && (it->second & (detail::sample_hit | detail::sample_write)) == 0;
      request = !after_miss;
    }
    last_kind[keys[i]] = kind;
    if (request) out.push_back({keys[i], ticks[i], hit, (kind & detail::sample_group_b) != 0});
  }
}

learner::learner(const online_config& config, const cache_shape& shape, model::model_registry& registry)
    : config_(config),
      shape_(shape),
      registry_(registry),
      sim_capacity_(mini_capacity(shape.capacity, config.sample_rate)),
      horizon_ticks_(config.horizon_capacities * double(shape.capacity)) {
  if (!registry_.active()) {
    model::model_info info;
    const model::model_params baseline =
        baseline_model(config_.baseline_newcomer_shift, config_.baseline_frequency_weight, config_.baseline_gap_weight);
    info.note = model::ranks_by_recency_alone(baseline)
                    ? "online learning's baseline: recency (LRU over the whole bucket)"
                    : format("online learning's baseline: recency, newcomer shift %g, frequency weight %g",
                             config_.baseline_newcomer_shift, config_.baseline_frequency_weight);
    if (config_.baseline_gap_weight != 0) info.note += format(", gap weight %g", config_.baseline_gap_weight);
    registry_.install(baseline, info, true);
  }
  build_simulations();
  auto active = registry_.active();
  known_active_ = active->version;
  known_model_ = active;
  report_.enabled = true;
  report_.state = "idle";
  report_.active_version = active->version;
  if (specialising()) {
    classifier_ = std::make_unique<workload::workload_classifier>();
    report_.specialisation.enabled = true;
  }
}

mini_sim_options learner::sim_options() const {
  mini_sim_options o;
  o.capacity = sim_capacity_;
  o.bucket_size = shape_.bucket_size;
  o.candidates = shape_.candidates;
  o.decay_half_life = shape_.decay_half_life;
  o.admission = shape_.admission;
  return o;
}

void learner::observe(const std::vector<request_event>& events) {
  // Requests of one full-cache batch share a tick: each simulation serves them as one batch
  // (one find, one insert of the misses), as the full cache did, and at a fraction of the cost
  // of one call per request.
  // A clock moved back by more than the horizon (cache::set_clock) leaves the window, the
  // pending candidates and the simulations in times the stream no longer has: start them afresh.
  // Smaller steps back are normal: a batch takes its tick before it claims a sample buffer, so
  // two drains may interleave their batches' ticks.
  if (!events.empty() && !window_.empty() && double(events.front().tick) + horizon_ticks_ < double(window_.back().tick))
    forget_stream();
  std::vector<std::uint64_t> keys;
  std::vector<char> train_hit, tw, a, c, l;
  for (std::size_t i = 0; i < events.size();) {
    std::size_t j = i;
    while (j < events.size() && events[j].tick == events[i].tick) ++j;
    const std::size_t n = j - i;
    const std::uint64_t tick = events[i].tick;
    keys.resize(n);
    for (std::size_t k = 0; k < n; ++k) {
      const request_event& e = events[i + k];
      window_.push_back(e);
      if (window_.size() > config_.window) window_.pop_front();
      label_on_request(e.key, e.tick);
      keys[k] = e.key;
    }
    auto hits = [&](std::vector<char>& v) {
      v.assign(n, 0);
      return reinterpret_cast<bool*>(v.data());
    };
    train_sim_->access_batch(keys.data(), n, tick, hits(train_hit));
    twin_sim_->access_batch(keys.data(), n, tick, hits(tw));
    if (phase_ == phase::evaluating) {
      eval_active_->access_batch(keys.data(), n, tick, hits(a));
      eval_candidate_->access_batch(keys.data(), n, tick, hits(c));
      eval_lru_->access_batch(keys.data(), n, tick, hits(l));
      for (std::size_t k = 0; k < n; ++k) {
        const request_event& e = events[i + k];
        ++eval_n_;
        eval_misses_[0] += !a[k];
        eval_misses_[1] += !c[k];
        eval_misses_[2] += !l[k];
        if (c[k] && !a[k]) ++cand_only_;
        if (a[k] && !c[k]) ++active_only_;
        ++ab_req_[e.group_b ? 1 : 0];
        if (e.hit) ++ab_hit_[e.group_b ? 1 : 0];
      }
    } else if (phase_ == phase::watching) {
      watch_requests_seen_ += n;
      if (watch_compares_)
        for (std::size_t k = 0; k < n; ++k) {  // training simulation: new model; twin: the replaced one
          watch_new_only_ += train_hit[k] && !tw[k];
          watch_old_only_ += tw[k] && !train_hit[k];
        }
    }
    requests_since_training_ += n;
    // Evictions this batch's misses caused logged candidates to label from now on.
    if (std::find(train_hit.begin(), train_hit.end(), 0) != train_hit.end()) take_training_candidates();
    i = j;
  }
  if (window_.size() >= 1000 && window_.back().tick > window_.front().tick) {
    // Ticks are batch calls, not requests: the horizon of `horizon_capacities` x capacity
    // requests is converted with the stream's own ticks per request (the window's sampled
    // requests stand for size / rate requests of the full stream).
    const double requests = double(window_.size()) / config_.sample_rate;
    const double ticks = double(window_.back().tick - window_.front().tick);
    horizon_ticks_ = std::max(1.0, config_.horizon_capacities * double(shape_.capacity) * ticks / requests);
  }
  if (!events.empty()) retire_pending(events.back().tick);
  if (specialising()) {
    since_classification_ += events.size();
    if (since_classification_ >= config_.specialise.stride && window_.size() >= config_.specialise.window)
      classify_window();
  }
  std::lock_guard lock(report_mutex_);
  report_.sampled_requests += events.size();
}

void learner::take_training_candidates() {
  const auto c = train_sim_->take_candidates();
  for (std::size_t i = 0; i < c.keys.size(); ++i) {
    pending_candidate p{};
    std::copy_n(&c.features[i * feature_count], feature_count, p.features);
    p.key = c.keys[i];
    p.tick = c.times[i];
    p.labelled = false;
    p.cls = current_class_;
    pending_.push_back(p);
    waiting_[p.key].push_back(pending_base_ + pending_.size() - 1);
  }
}

float learner::horizon_label() const { return static_cast<float>(std::log2(1.0 + horizon_ticks_)); }

void learner::label_on_request(std::uint64_t key, std::uint64_t tick) {
  const auto it = waiting_.find(key);
  if (it == waiting_.end()) return;
  bool all_done = true;
  for (std::uint64_t idx : it->second) {
    if (idx < pending_base_) continue;  // already retired (censored)
    pending_candidate& p = pending_[idx - pending_base_];
    if (p.labelled) continue;
    if (tick > p.tick) {
      const double gap = std::min(double(tick - p.tick), horizon_ticks_);
      add_sample(p.features, static_cast<float>(std::log2(1.0 + gap)), p.cls);
      p.labelled = true;
    } else {
      all_done = false;  // decided in this very tick: the next request labels it
    }
  }
  if (all_done) waiting_.erase(it);
}

void learner::retire_pending(std::uint64_t tick) {
  while (!pending_.empty()) {
    pending_candidate& p = pending_.front();
    if (!p.labelled) {
      if (tick <= p.tick || double(tick - p.tick) < horizon_ticks_) break;
      add_sample(p.features, horizon_label(), p.cls);  // not requested again within the horizon
    }
    pending_.pop_front();
    ++pending_base_;
  }
  if (waiting_.size() > 4 * config_.window + 1024) {
    // Keys never requested again leave entries behind: rebuild from what is still pending.
    waiting_.clear();
    for (std::size_t i = 0; i < pending_.size(); ++i)
      if (!pending_[i].labelled) waiting_[pending_[i].key].push_back(pending_base_ + i);
  }
}

void learner::add_sample(const float* features, float label, std::uint8_t cls) {
  std::array<float, feature_count + 1> s{};
  std::copy_n(features, feature_count, s.begin());
  s[feature_count] = label;
  samples_.push_back(s);
  sample_class_.push_back(cls);
  ++class_samples_[std::min<std::size_t>(cls, workload::class_count)];
  if (samples_.size() > config_.window) {
    samples_.pop_front();
    --class_samples_[std::min<std::size_t>(sample_class_.front(), workload::class_count)];
    sample_class_.pop_front();
  }
}

std::size_t learner::usable_samples() const {
  if (!specialising() || current_class_ == no_class) return samples_.size();
  return class_samples_[current_class_] + class_samples_[workload::class_count];
}

bool learner::due_for_training(clock::time_point now) const {
  if (usable_samples() < 1000 || requests_since_training_ < config_.train_every_samples) return false;
  if (config_.manual || config_.train_interval_ms == 0 || last_training_ == clock::time_point{}) return true;
  return ms_between(last_training_, now) >= double(config_.train_interval_ms);
}

void learner::step(std::uint64_t tick, clock::time_point now, const live_counters& live) {
  last_tick_ = tick;
  double load = 0;
  if (!config_.manual && last_step_ != clock::time_point{}) {
    const double seconds = std::chrono::duration<double>(now - last_step_).count();
    if (seconds > 0) {
      load = double(live.keys - last_live_.keys) / seconds;
      peak_load_ = std::max(peak_load_, load);
    }
  }
  last_step_ = now;
  const live_counters previous = history_.empty() ? live : history_.back();
  last_live_ = live;
  history_.push_back(live);
  if (history_.size() > 4096) history_.pop_front();
  try {
    // An activation the learner did not make (the host installed or activated a model): drop any
    // evaluation (it compared against the old model) and watch the new one like a promotion. The
    // version and the model come from one load: another activation may come between two.
    auto active = registry_.active();
    const std::uint64_t active_now = active ? active->version : 0;
    if (active && active_now != known_active_) {
      known_active_ = active_now;
      if (phase_ == phase::evaluating) end_evaluation();
      train_sim_->set_model(active->params);
      auto replaced = std::exchange(known_model_, active);
      start_watch(active_now, previous, std::move(replaced));
      if (specialising() && config_.specialise.ensemble && current_class_ != no_class &&
          !active->info.note.starts_with(ensemble_note)) {
        // As without the ensemble, a model the host activates becomes the current class's model
        // (an ensemble does not: the host went back to one the learner built). The one it replaces
        // stays pinned until the watch ends, so that a rollback can restore it.
        replaced_class_model_ = class_model_[current_class_];
        class_model_[current_class_] = active_now;
        refresh_pins();
      }
    }
    if (specialising()) specialise(tick, now);
    switch (phase_) {
      case phase::idle:
        if (!due_for_training(now)) break;
        if (!config_.manual && peak_load_ > 0 && load > config_.yield_load * peak_load_) {
          std::lock_guard lock(report_mutex_);
          ++report_.suspensions;
          report_.state = "suspended";
          break;
        }
        train_candidate(tick, now);
        break;
      case phase::evaluating:
        decide(tick, now);
        if (phase_ == phase::watching) {
          auto promoted = registry_.active();
          known_active_ = promoted->version;
          auto replaced = std::exchange(known_model_, std::move(promoted));
          start_watch(known_active_, live, std::move(replaced));
        }
        break;
      case phase::watching:
        watch(tick, now, live);
        break;
    }
  } catch (const std::exception& e) {
    // A failed round changes nothing the cache serves: the active model stays.
    end_evaluation();
    phase_ = phase::idle;
    requests_since_training_ = 0;
    last_training_ = now;
    online_decision d;
    d.what = online_decision::kind::failed;
    d.tick = tick;
    d.at = now;
    d.reason = std::string("training round failed: ") + e.what();
    {
      std::lock_guard lock(report_mutex_);
      report_.last_error = d.reason;
    }
    record(std::move(d));
  }
  if (specialising() && !config_.specialise.ensemble && current_class_ != no_class) {
    // The current class's model is whatever serves: a promotion, a rollback or the host's own
    // activation changed it for this class only.
    class_model_[current_class_] = registry_.active_version();
    refresh_pins();
  }
  std::lock_guard lock(report_mutex_);
  report_.active_version = registry_.active_version();
  if (report_.state != "suspended" || phase_ != phase::idle)
    report_.state = phase_ == phase::idle ? "idle" : phase_ == phase::evaluating ? "evaluating" : "watching";
}

void learner::train_candidate(std::uint64_t tick, clock::time_point now) {
  set_state("training");
  const auto started = clock::now();
  // A round is an incremental update: the most recent samples (at most round_samples) on top of
  // the active model, not a refit of the whole window. Every 10th is held out for the validation
  // figures the registry records.
  // With specialisation, only the current class's samples (and those from before the first
  // classification) train its model.
  // A class new to the learner has few samples of its own: the most recent samples of other
  // classes fill its round up to min_class_samples.
  constexpr std::size_t round_samples = 50'000, min_class_samples = 10'000;
  std::vector<std::size_t> chosen;
  for (std::size_t i = samples_.size(); i-- > 0 && chosen.size() < round_samples;) {
    const std::uint8_t c = sample_class_[i];
    if (!specialising() || current_class_ == no_class || c == current_class_ || c == no_class) chosen.push_back(i);
  }
  if (chosen.size() < min_class_samples && chosen.size() < samples_.size()) {
    std::vector<bool> taken(samples_.size(), false);
    for (std::size_t i : chosen) taken[i] = true;
    for (std::size_t i = samples_.size(); i-- > 0 && chosen.size() < min_class_samples;)
      if (!taken[i]) chosen.push_back(i);
  }
  std::sort(chosen.begin(), chosen.end());  // arrival order
  std::vector<float> x, y, vx, vy;
  x.reserve(chosen.size() * feature_count);
  y.reserve(chosen.size());
  for (std::size_t j = 0; j < chosen.size(); ++j) {
    const auto& s = samples_[chosen[j]];
    std::vector<float>& tx = j % 10 == 9 ? vx : x;
    std::vector<float>& ty = j % 10 == 9 ? vy : y;
    tx.insert(tx.end(), s.begin(), s.begin() + feature_count);
    ty.push_back(s[feature_count]);
  }
  auto active = reference_model();
  model::model_params start = active->params;
  const bool baseline = active->version == 1 && active->params.kind == model::model_kind::linear &&
                        active->info.training_samples == 0;
  if (baseline) {
    // The baseline is hand-set, not trained: start from scratch (or a fresh MLP).
    start = config_.mlp_hidden > 0 ? fresh_mlp(config_.mlp_hidden, config_.seed) : model::model_params{};
  }
  sgd_options o;
  o.learning_rate = config_.learning_rate;
  o.max_learning_rate = config_.max_learning_rate;
  o.l1 = config_.l1;
  o.l2 = config_.l2;
  o.epochs = baseline ? std::max<std::uint32_t>(config_.epochs, 8) : config_.epochs;
  o.seed = config_.seed + report_.training_rounds;
  sgd_report r;
  const model::model_params p = sgd_update(start, x.data(), y.data(), y.size(), o, &r);
  model::model_info info;
  info.training_samples = y.size();
  if (!vy.empty()) {
    info.validation_loss = mean_squared_error(p, vx.data(), vy.data(), vy.size());
    info.validation_accuracy = pairwise_accuracy(p, vx.data(), vy.data(), vy.size());
    // The active model on the same held-out samples: the live prediction-accuracy figure.
    const double active_accuracy = pairwise_accuracy(active->params, vx.data(), vy.data(), vy.size());
    std::lock_guard lock(report_mutex_);
    report_.prediction_accuracy = std::isfinite(active_accuracy) ? active_accuracy : -1.0;
  }
  info.note = "online round " + std::to_string(report_.training_rounds + 1) + " at tick " + std::to_string(tick);
  if (specialising() && current_class_ != no_class)
    info.note += std::string(", class ") + std::string(workload::to_string(workload::workload_class(current_class_)));
  const std::uint64_t version = registry_.install(p, info, false);  // validated; a shadow
  requests_since_training_ = 0;
  last_training_ = now;
  {
    std::lock_guard lock(report_mutex_);
    ++report_.training_rounds;
    report_.trainer_busy_seconds += std::chrono::duration<double>(clock::now() - started).count();
  }
  start_evaluation(registry_.find(version));
}

void learner::start_evaluation(std::shared_ptr<const model::installed_model> cand) {
  if (!cand) throw std::runtime_error("the candidate was dropped from the registry before its evaluation");
  const auto started = clock::now();
  auto active = reference_model();
  mini_sim_options o = sim_options();
  eval_active_ = std::make_unique<mini_sim>(o, &active->params);
  eval_candidate_ = std::make_unique<mini_sim>(o, &cand->params);
  o.eviction = policy::lru;
  eval_lru_ = std::make_unique<mini_sim>(o, nullptr);
  // Only requests after the warm-up (none of which the candidate was trained on) count.
  warm_on_window({eval_active_.get(), eval_candidate_.get(), eval_lru_.get()});
  eval_n_ = cand_only_ = active_only_ = 0;
  eval_misses_[0] = eval_misses_[1] = eval_misses_[2] = 0;
  ab_req_[0] = ab_req_[1] = ab_hit_[0] = ab_hit_[1] = 0;
  const double fraction = std::clamp(config_.ab_fraction, 0.0, 1.0);
  ab_threshold_ = static_cast<std::uint64_t>(fraction * 18446744073709551615.0);
  candidate_.store(std::move(cand), std::memory_order_release);
  phase_ = phase::evaluating;
  std::lock_guard lock(report_mutex_);
  report_.trainer_busy_seconds += std::chrono::duration<double>(clock::now() - started).count();
}

void learner::end_evaluation() {
  // Its simulations go: nothing may take the learner for still evaluating (observe() feeds them).
  if (phase_ == phase::evaluating) phase_ = phase::idle;
  candidate_.store(nullptr, std::memory_order_release);
  ab_threshold_ = 0;
  eval_active_.reset();
  eval_candidate_.reset();
  eval_lru_.reset();
}

void learner::decide(std::uint64_t tick, clock::time_point now) {
  if (eval_n_ < std::max<std::size_t>(config_.min_eval_requests, 1000)) return;
  const auto cand = candidate_.load(std::memory_order_acquire);
  online_decision d;
  d.version = cand ? cand->version : 0;
  d.tick = tick;
  d.at = now;
  d.eval_requests = eval_n_;
  d.sim_miss_active = ratio(eval_misses_[0], eval_n_);
  d.sim_miss_candidate = ratio(eval_misses_[1], eval_n_);
  d.sim_miss_lru = ratio(eval_misses_[2], eval_n_);
  // The simulations ran on the same requests, so the outcomes are paired: McNemar's exact test
  // on the requests where exactly one of the two hit.
  d.p_value = mcnemar_one_sided(cand_only_, active_only_);
  const double p_worse = mcnemar_one_sided(active_only_, cand_only_);
  d.ab_requests_candidate = ab_req_[1];
  d.ab_hit_candidate = ratio(ab_hit_[1], ab_req_[1]);
  d.ab_requests_active = ab_req_[0];
  d.ab_hit_active = ratio(ab_hit_[0], ab_req_[0]);
  const double p_ab_worse = two_proportion_p_less(ab_hit_[1], ab_req_[1], ab_hit_[0], ab_req_[0]);
  const std::string figures =
      format("simulated miss ratio %.4f (candidate) vs %.4f (active), LRU %.4f; candidate-only hits %.0f, "
             "active-only hits %.0f",
             d.sim_miss_candidate, d.sim_miss_active, d.sim_miss_lru, double(cand_only_), double(active_only_));
  if (d.p_value < config_.significance) {
    if (ab_req_[1] >= 100 && p_ab_worse < config_.significance) {
      d.what = online_decision::kind::rejected;
      d.reason = "better in simulation but worse live: candidate buckets hit " +
                 format("%.4f vs %.4f (two-proportion z-test p = %.2g); ", d.ab_hit_candidate, d.ab_hit_active,
                        p_ab_worse) +
                 figures;
    } else {
      d.what = online_decision::kind::promoted;
      d.reason = format("better with p = %.2g (McNemar, %.0f requests): ", d.p_value, double(eval_n_)) + figures;
    }
  } else if (p_worse < config_.significance) {
    d.what = online_decision::kind::rejected;
    d.reason = format("worse with p = %.2g (McNemar, %.0f requests): ", p_worse, double(eval_n_)) + figures;
  } else if (eval_n_ >= config_.max_eval_requests) {
    d.what = online_decision::kind::rejected;
    d.reason = format("not significantly better after %.0f requests (p = %.2g): ", double(eval_n_), d.p_value) + figures;
  } else {
    return;  // keep evaluating
  }
  end_evaluation();
  if (d.what == online_decision::kind::promoted) {
    phase_ = phase::watching;  // step() starts the watch
    if (config_.specialise.ensemble && current_class_ != no_class) {
      // The candidate replaces its class's model and the ensemble is rebuilt around it (when
      // another class's model dominates, the serving model may not change: nothing to watch).
      replaced_class_model_ = class_model_[current_class_];
      class_model_[current_class_] = d.version;
      refresh_pins();  // the replaced model stays pinned until the watch ends
      bool changed = false;
      try {
        changed = rebuild_ensemble(true, tick);
      } catch (...) {
        class_model_[current_class_] = replaced_class_model_;  // nothing was promoted
        replaced_class_model_ = 0;
        refresh_pins();
        throw;
      }
      if (!changed) {
        phase_ = phase::idle;
        replaced_class_model_ = 0;
        refresh_pins();
      }
    } else {
      registry_.activate(d.version);
    }
    train_sim_->set_model(registry_.active()->params);
  } else {
    phase_ = phase::idle;
  }
  record(std::move(d));
}

void learner::warm_on_window(std::initializer_list<mini_sim*> sims) {
  // Warm on the recent past so a comparison starts from full caches.
  const std::size_t warm = std::min<std::size_t>(window_.size(), std::max<std::uint64_t>(20 * sim_capacity_, 20'000));
  std::vector<std::uint64_t> keys;
  std::vector<char> hit;
  for (std::size_t i = window_.size() - warm; i < window_.size();) {
    std::size_t j = i;
    keys.clear();
    while (j < window_.size() && window_[j].tick == window_[i].tick) keys.push_back(window_[j++].key);
    hit.assign(keys.size(), 0);
    for (mini_sim* sim : sims) sim->access_batch(keys.data(), keys.size(), window_[i].tick, reinterpret_cast<bool*>(hit.data()));
    i = j;
  }
}

void learner::start_watch(std::uint64_t version, const live_counters& before,
                          std::shared_ptr<const model::installed_model> previous) {
  // The twin keeps (or takes up) the replaced model; the training simulation runs the new one.
  watch_new_only_ = watch_old_only_ = watch_vetoes_ = 0;
  watch_compares_ = previous != nullptr;
  if (previous && twin_version_ != previous->version) {
    twin_sim_->set_model(previous->params);
    twin_version_ = previous->version;
  }
  // The pre-swap baseline: the live figures over the most recent stretch before the swap that
  // holds at least 4 x watch_min_requests requests (or all there is).
  baseline_start_live_ = history_.empty() ? live_counters{} : history_.front();
  for (auto it = history_.rbegin(); it != history_.rend(); ++it) {
    if (it->requests > before.requests) continue;  // after the swap
    baseline_start_live_ = *it;
    if (before.requests - it->requests >= 4 * config_.watch_min_requests) break;
  }
  const std::uint64_t req = before.requests - baseline_start_live_.requests;
  hit_before_ = ratio(before.hits - baseline_start_live_.hits, req);
  const std::uint64_t timed = before.timed_keys - baseline_start_live_.timed_keys;
  ns_before_ = timed > 0 ? ratio(before.busy_ns - baseline_start_live_.busy_ns, timed) : 0.0;
  watch_start_live_ = before;
  watched_version_ = version;
  watch_requests_seen_ = 0;
  const auto rec = registry_.record(version);
  activated_at_ = rec ? rec->state_changed_at : std::chrono::system_clock::now();
  phase_ = phase::watching;
}

void learner::watch(std::uint64_t tick, clock::time_point now, const live_counters& live) {
  const std::uint64_t req = live.requests - watch_start_live_.requests;
  const std::uint64_t hits = live.hits - watch_start_live_.hits;
  const double hit_after = ratio(hits, req);
  const std::uint64_t timed = live.timed_keys - watch_start_live_.timed_keys;
  const double ns_after = timed > 0 ? ratio(live.busy_ns - watch_start_live_.busy_ns, timed) : 0.0;
  const double thr = config_.rollback_threshold;
  std::string why;
  if (req >= config_.watch_min_requests && watch_start_live_.requests - baseline_start_live_.requests >=
      config_.watch_min_requests && hit_before_ > 0 && hit_after < hit_before_ * (1.0 - thr)) {
    // Past the threshold and not noise: the drop must also be significant (the baseline's
    // request count is at least watch_min_requests as well).
    const std::uint64_t before_req = watch_start_live_.requests - baseline_start_live_.requests;
    const std::uint64_t before_hits = watch_start_live_.hits - baseline_start_live_.hits;
    if (two_proportion_p_less(hits, req, before_hits, before_req) < 0.001) {
      // The workload may have changed under the new model. If the simulations of the new and the
      // replaced model on the requests since the swap say the new one is significantly better,
      // the dip is not the model's doing: keep it.
      if (watch_compares_ && mcnemar_one_sided(watch_new_only_, watch_old_only_) < 0.05) {
        ++watch_vetoes_;
      } else {
        why = format("live hit ratio fell from %.4f to %.4f (%.1f %%, threshold %.0f %%)", hit_before_, hit_after,
                     100.0 * (hit_after / hit_before_ - 1.0), 100.0 * thr);
      }
    }
  }
  // Latency is wall time: not judged in manual mode, whose runs must be reproducible.
  // Wall time per key is noisier than a hit ratio (other work on the machine, page faults after a
  // swap): it is judged over 4 x watch_min_requests keys.
  if (why.empty() && !config_.manual && timed >= 4 * config_.watch_min_requests && ns_before_ > 0 &&
      ns_after > ns_before_ * (1.0 + thr))
    why = format("per-key latency rose from %.1f ns to %.1f ns (+%.1f %%, threshold %.0f %%)", ns_before_, ns_after,
                 100.0 * (ns_after / ns_before_ - 1.0), 100.0 * thr);
  online_decision d;
  d.version = watched_version_;
  d.tick = tick;
  d.hit_before = hit_before_;
  d.hit_after = hit_after;
  d.ns_per_key_before = ns_before_;
  d.ns_per_key_after = ns_after;
  if (!why.empty()) {
    const auto detected = std::chrono::system_clock::now();
    registry_.rollback("online watch: " + why);
    const auto reverted = std::chrono::system_clock::now();
    if (config_.specialise.ensemble && current_class_ != no_class && replaced_class_model_ != 0) {
      class_model_[current_class_] = replaced_class_model_;
      replaced_class_model_ = 0;
      refresh_pins();
    }
    auto active = registry_.active();
    known_active_ = active->version;
    known_model_ = active;
    watch_compares_ = false;
    train_sim_->set_model(active->params);
    d.what = online_decision::kind::rolled_back;
    d.at = clock::now();
    d.detect_ms = std::chrono::duration<double, std::milli>(detected - activated_at_).count();
    d.revert_ms = std::chrono::duration<double, std::milli>(reverted - activated_at_).count();
    d.reason = why + "; version " + std::to_string(active->version) + " is active again";
    phase_ = phase::idle;
    record(std::move(d));
    return;
  }
  const bool over =
      config_.manual ? watch_requests_seen_ >= config_.watch_samples
                     : std::chrono::duration<double, std::milli>(std::chrono::system_clock::now() - activated_at_).count() >=
                           double(config_.watch_ms);
  if (!over) return;
  d.what = online_decision::kind::kept;
  d.at = now;
  d.reason = format("kept: live hit ratio %.4f before, %.4f after", hit_before_, hit_after);
  if (watch_vetoes_ > 0)
    d.reason += format(" (a live dip was attributed to the workload: in simulation the new model hit %.0f "
                       "requests the old one missed, and missed %.0f it hit)",
                       double(watch_new_only_), double(watch_old_only_));
  // The watch is over: the twin follows the active model again.
  watch_compares_ = false;
  if (std::exchange(replaced_class_model_, 0) != 0) refresh_pins();
  if (known_model_ && twin_version_ != known_model_->version) {
    twin_sim_->set_model(known_model_->params);
    twin_version_ = known_model_->version;
  }
  phase_ = phase::idle;
  record(std::move(d));
}

// ---- Workload specialisation ----

std::shared_ptr<const model::installed_model> learner::reference_model() const {
  if (config_.specialise.ensemble && current_class_ != no_class && class_model_[current_class_] != 0)
    if (auto m = registry_.find(class_model_[current_class_])) return m;
  return registry_.active();
}

void learner::classify_window() {
  const auto started = clock::now();
  const std::size_t w = config_.specialise.window;
  std::vector<std::uint64_t> keys(w);
  std::transform(window_.end() - static_cast<std::ptrdiff_t>(w), window_.end(), keys.begin(),
                 [](const request_event& e) { return e.key; });
  latest_ = classifier_->classify(keys);
  fresh_classification_ = true;
  since_classification_ = 0;
  std::lock_guard lock(report_mutex_);
  auto& r = report_.specialisation;
  ++r.classifications;
  ++r.windows_per_class[static_cast<std::size_t>(latest_.kind)];
  r.latest_class = workload::to_string(latest_.kind);
  r.latest_confidence = latest_.confidence;
  report_.trainer_busy_seconds += std::chrono::duration<double>(clock::now() - started).count();
}

void learner::specialise(std::uint64_t tick, clock::time_point now) {
  // A watch compares the live figures before and after a promotion: no switch in between.
  if (!fresh_classification_ || phase_ == phase::watching) return;
  fresh_classification_ = false;
  const auto c = static_cast<std::uint8_t>(latest_.kind);
  const bool confident = latest_.confidence >= config_.specialise.min_confidence;
  if (current_class_ == no_class) {
    if (confident) switch_class(c, tick, now);
    return;
  }
  if (c == current_class_ || !confident) {
    pending_class_ = no_class;
    pending_windows_ = 0;
  } else {
    pending_windows_ = pending_class_ == c ? pending_windows_ + 1 : 1;
    pending_class_ = c;
    if (pending_windows_ >= config_.specialise.stable_windows) {
      switch_class(c, tick, now);
      return;
    }
  }
  // Not during an evaluation: its live A/B compares the candidate with the model serving now.
  if (config_.specialise.ensemble && phase_ == phase::idle && rebuild_ensemble(false, tick)) adopt_active();
}

void learner::switch_class(std::uint8_t to, std::uint64_t tick, clock::time_point now) {
  using workload::to_string;
  using workload::workload_class;
  const std::uint8_t from = current_class_;
  const std::string from_name = from == no_class ? "none" : std::string(to_string(workload_class(from)));
  const std::string to_name(to_string(workload_class(to)));
  if (phase_ == phase::evaluating) {
    // The candidate was trained for, and is judged on, the workload that just ended.
    const auto cand = candidate_.load(std::memory_order_acquire);
    end_evaluation();
    phase_ = phase::idle;
    online_decision d;
    d.what = online_decision::kind::rejected;
    d.version = cand ? cand->version : 0;
    d.tick = tick;
    d.at = now;
    d.eval_requests = eval_n_;
    d.reason = "the workload changed from " + from_name + " to " + to_name +
               " during the evaluation; the candidate was trained for " + from_name;
    record(std::move(d));
  }
  const std::uint64_t serving = from == no_class || class_model_[from] == 0 ? registry_.active_version() : class_model_[from];
  const auto saved_models = class_model_;
  current_class_ = to;
  pending_class_ = no_class;
  pending_windows_ = 0;
  const bool had_model = class_model_[to] != 0;
  if (!had_model) class_model_[to] = serving;  // a new class starts from the model serving now
  const std::uint64_t before = registry_.active_version();
  bool changed = false;
  try {
    refresh_pins();
    if (config_.specialise.ensemble) {
      changed = rebuild_ensemble(true, tick);
    } else if (class_model_[to] != before) {
      activate_for_class(class_model_[to]);
      changed = true;
    }
  } catch (...) {
    // The swap failed (an upload, an allocation): the class that was current stays current.
    current_class_ = from;
    class_model_ = saved_models;
    refresh_pins();
    throw;
  }
  if (changed) adopt_active();
  online_decision d;
  d.what = online_decision::kind::switched;
  d.version = registry_.active_version();
  d.tick = tick;
  d.at = now;
  d.reason = "workload class " + to_name + format(" (confidence %.2f)", latest_.confidence) + ", was " + from_name +
             ": " + (had_model ? "its model, version " + std::to_string(class_model_[to])
                               : "no model of its own yet, it starts from version " + std::to_string(class_model_[to])) +
             (changed ? "; version " + std::to_string(d.version) + " now serves (was " + std::to_string(before) + ")"
                      : "; the serving model is unchanged");
  {
    std::lock_guard lock(report_mutex_);
    auto& r = report_.specialisation;
    if (from != no_class) ++r.switches;
    r.current_class = to_name;
  }
  record(std::move(d));
}

void learner::activate_for_class(std::uint64_t version) {
  const auto t0 = clock::now();
  registry_.activate(version);
  const double us = std::chrono::duration<double, std::micro>(clock::now() - t0).count();
  std::lock_guard lock(report_mutex_);
  auto& r = report_.specialisation;
  ++r.activations;
  r.last_switch_us = us;
  r.max_switch_us = std::max(r.max_switch_us, us);
}

bool learner::rebuild_ensemble(bool force, std::uint64_t tick) {
  if (current_class_ == no_class) return false;
  // Each class's probability goes to its model, except that half of a mixed window's goes to the
  // models of the patterns in its estimated blend; classes without a model lend theirs to the
  // current class.
  std::array<double, workload::class_count> p{};
  const int mixed = static_cast<int>(workload::workload_class::mixed);
  for (int k = 0; k < workload::class_count; ++k) p[k] = latest_.probability[k];
  for (int k = 0; k < workload::base_class_count; ++k) p[k] += 0.5 * p[mixed] * latest_.blend[k];
  p[mixed] *= 0.5;
  std::array<double, workload::class_count> w{};
  for (int k = 0; k < workload::class_count; ++k) w[class_model_[k] != 0 ? k : current_class_] += p[k];
  if (!force) {
    double moved = 0;
    for (int k = 0; k < workload::class_count; ++k) moved += std::abs(w[k] - ensemble_weights_[k]);
    if (moved < 0.2) return false;
  }
  std::vector<std::uint64_t> versions;
  std::vector<double> weights;
  std::vector<std::shared_ptr<const model::installed_model>> models;
  for (int k = 0; k < workload::class_count; ++k) {
    if (w[k] <= 0 || class_model_[k] == 0) continue;
    const auto it = std::find(versions.begin(), versions.end(), class_model_[k]);
    if (it != versions.end()) {
      weights[std::size_t(it - versions.begin())] += w[k];
      continue;
    }
    auto m = registry_.find(class_model_[k]);
    if (!m) continue;  // pinned, so never dropped; a restore replaces the registry and restarts us
    versions.push_back(class_model_[k]);
    weights.push_back(w[k]);
    models.push_back(std::move(m));
  }
  if (versions.empty()) {
    ensemble_weights_ = w;
    return false;
  }
  const std::size_t top = std::size_t(std::max_element(weights.begin(), weights.end()) - weights.begin());
  double total = 0;
  for (double x : weights) total += x;
  const std::uint64_t before = registry_.active_version();
  if (versions.size() > 1 && weights[top] < 0.9 * total) {
    std::vector<const model::model_params*> params;
    for (const auto& m : models) params.push_back(&m->params);
    try {
      const auto t0 = clock::now();
      const model::model_params e = model::weighted_ensemble(params, weights);
      model::model_info info;
      info.note = std::string(ensemble_note) + " at tick " + std::to_string(tick) + ":";
      for (std::size_t i = 0; i < versions.size(); ++i)
        info.note += format(" %.0f x %.2f", double(versions[i]), weights[i] / total);
      registry_.install(e, info, true);
      ensemble_weights_ = w;
      const double us = std::chrono::duration<double, std::micro>(clock::now() - t0).count();
      std::lock_guard lock(report_mutex_);
      auto& r = report_.specialisation;
      ++r.ensembles;
      ++r.activations;
      r.last_ensemble_us = us;
      return true;
    } catch (const belady::invalid_argument&) {
      // Too many hidden units side by side (or int8 models): the dominant model serves alone.
    }
  }
  if (versions[top] != before) activate_for_class(versions[top]);
  ensemble_weights_ = w;
  return versions[top] != before;
}

void learner::adopt_active() {
  auto active = registry_.active();
  known_active_ = active->version;
  known_model_ = active;
  train_sim_->set_model(active->params);
  twin_sim_->set_model(active->params);
  twin_version_ = active->version;
}

void learner::refresh_pins() {
  // The class models, and a class model a watched promotion replaced (a rollback restores it).
  std::vector<std::uint64_t> want;
  auto add = [&want](std::uint64_t v) {
    if (v != 0 && std::find(want.begin(), want.end(), v) == want.end()) want.push_back(v);
  };
  for (std::uint64_t v : class_model_) add(v);
  add(replaced_class_model_);
  for (std::uint64_t v : pinned_)
    if (std::find(want.begin(), want.end(), v) == want.end()) registry_.unpin(v);
  std::vector<std::uint64_t> pinned;
  for (std::uint64_t v : want) {
    // pin() is idempotent: pinning again also repairs pins the host removed (unpin, restore).
    try {
      registry_.pin(v);
      pinned.push_back(v);
    } catch (const belady::invalid_argument&) {
      for (auto& m : class_model_)  // dropped before we could pin it: the class has no model
        if (m == v) m = 0;
      if (replaced_class_model_ == v) replaced_class_model_ = 0;
    }
  }
  pinned_ = std::move(pinned);
  std::lock_guard lock(report_mutex_);
  report_.specialisation.class_models = class_model_;
}

std::pair<std::uint64_t, std::uint64_t> learner::failures_and_rounds() const {
  std::lock_guard lock(report_mutex_);
  return {report_.failures, report_.training_rounds};
}

void learner::restart(bool count) {
  end_evaluation();
  phase_ = phase::idle;
  samples_.clear();
  sample_class_.clear();
  class_samples_.fill(0);
  requests_since_training_ = 0;
  if (!count) {
    // After a snapshot load the registry is another one: the class models are forgotten (pins
    // of versions that no longer exist are ignored).
    for (std::uint64_t v : pinned_) registry_.unpin(v);
    pinned_.clear();
    class_model_.fill(0);
    current_class_ = pending_class_ = no_class;
    pending_windows_ = 0;
    fresh_classification_ = false;
    since_classification_ = 0;
    ensemble_weights_.fill(0);
    replaced_class_model_ = 0;
    std::lock_guard lock(report_mutex_);
    report_.specialisation.class_models = class_model_;
    report_.specialisation.current_class.clear();
  }
  // Follow the registry's active model as it is now (after a snapshot load it is another one):
  // otherwise the next step would take it for an outside activation and watch it.
  if (auto active = registry_.active()) {
    known_active_ = active->version;
    known_model_ = active;
    train_sim_->set_model(active->params);
    twin_sim_->set_model(active->params);
    twin_version_ = active->version;
    watch_compares_ = false;
  }
  // After a snapshot load the clock is another one too: what was timed by the old one goes
  // (last, as it allocates: everything above is settled if it throws).
  if (!count) forget_stream();
  std::lock_guard lock(report_mutex_);
  if (count) ++report_.restarts;
  report_.state = "idle";
}

void learner::forget_stream() {
  // An evaluation compares simulations that go now: it ends (end_evaluation idles the phase). A
  // watch goes on: it judges live counters and wall time, not the stream's ticks.
  end_evaluation();
  window_.clear();
  pending_base_ += pending_.size();
  pending_.clear();
  waiting_.clear();
  horizon_ticks_ = config_.horizon_capacities * double(shape_.capacity);
  requests_since_training_ = 0;
  build_simulations();
  watch_compares_ = false;
}

void learner::build_simulations() {
  // The training simulation logs its eviction candidates (two per eviction) for labelling; the
  // twin follows the active model, or the replaced one while a promotion is watched.
  mini_sim_options o = sim_options();
  o.candidate_log = 2 * std::max<std::size_t>(config_.sample_buffer, 4096) + 16;
  auto active = registry_.active();
  train_sim_ = std::make_unique<mini_sim>(o, &active->params);
  twin_sim_ = std::make_unique<mini_sim>(sim_options(), &active->params);
  twin_version_ = active->version;
}

void learner::record(online_decision d) {
  {
    // Decisions are rare (one per training round at most): logging them costs the request path
    // nothing.
    auto log = belady::logger();
    const auto level = d.what == online_decision::kind::failed        ? spdlog::level::err
                       : d.what == online_decision::kind::rolled_back ? spdlog::level::warn
                                                                      : spdlog::level::info;
    log->log(level, "online learning: model {} {}: {}", d.version, to_string(d.what), d.reason);
  }
  std::lock_guard lock(report_mutex_);
  switch (d.what) {
    case online_decision::kind::promoted: ++report_.promotions; break;
    case online_decision::kind::rejected: ++report_.rejections; break;
    case online_decision::kind::rolled_back: ++report_.rollbacks; break;
    case online_decision::kind::failed: ++report_.failures; break;
    case online_decision::kind::kept: break;
    case online_decision::kind::switched: break;
  }
  report_.decisions.push_back(std::move(d));
  if (report_.decisions.size() > 256) {
    // Drop the oldest decision that is not a rollback: health() counts recent rollbacks from this
    // log, and frequent decisions (rejections, switches) must not push them out.
    auto it = std::find_if(report_.decisions.begin(), report_.decisions.end(),
                           [](const online_decision& x) { return x.what != online_decision::kind::rolled_back; });
    report_.decisions.erase(it == report_.decisions.end() ? report_.decisions.begin() : it);
  }
}

void learner::note_drain(std::uint64_t events, std::uint64_t dropped) {
  std::lock_guard lock(report_mutex_);
  report_.sampled_events += events;
  report_.dropped_events += dropped;
}

void learner::note_failure(const std::string& what) {
  online_decision d;
  d.what = online_decision::kind::failed;
  d.tick = last_tick_;
  d.at = clock::now();
  d.reason = what;
  {
    std::lock_guard lock(report_mutex_);
    report_.last_error = what;
  }
  record(std::move(d));
}

void learner::set_state(const char* state) {
  std::lock_guard lock(report_mutex_);
  report_.state = state;
}

online_report learner::report() const {
  std::lock_guard lock(report_mutex_);
  return report_;
}

}  // namespace belady::online
