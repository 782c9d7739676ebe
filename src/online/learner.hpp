#pragma once
// The online learner: everything between the sampled access events and the registry. It labels
// eviction candidates with the time to their key's next request (Belady's label), trains candidate
// models, judges them in miniature simulations (Waldspurger et al., ATC'17) and a live A/B test,
// promotes or rejects them, and watches a promotion for a regression to roll back.
//
// It knows nothing about threads or backends: the owner (cache.cpp) feeds it drained events and
// live counters from its trainer thread, or the host does through cache::online_step() in manual
// mode, which makes a run reproducible. Not thread-safe except report(), candidate() and
// ab_threshold(), which the request path and observers call concurrently.
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "belady/config.hpp"
#include "belady/model/registry.hpp"
#include "belady/online.hpp"
#include "belady/workload.hpp"
#include "online/mini_sim.hpp"

namespace belady::online {

/// One sampled request, in arrival order.
struct request_event {
  std::uint64_t key;
  std::uint64_t tick;
  bool hit;
  bool group_b;  ///< its bucket served the candidate model
};

/// The owner's cumulative counters (synchronous find / find_or_insert calls and all batches).
struct live_counters {
  std::uint64_t requests = 0;  ///< keys looked up by counted calls
  std::uint64_t hits = 0;
  std::uint64_t keys = 0;      ///< keys processed by every batch call (the load)
  std::uint64_t busy_ns = 0;   ///< wall time inside counted batch calls
  std::uint64_t timed_keys = 0;  ///< keys of those calls
};

/// What the learner needs to know about the cache it serves.
struct cache_shape {
  std::uint64_t capacity = 0;
  std::uint32_t bucket_size = 128;
  std::uint32_t candidates = 16;
  double decay_half_life = 1;  ///< ticks (resolved: never 0)
  bool admission = false;
};

class learner {
 public:
  using clock = std::chrono::steady_clock;

  learner(const online_config& config, const cache_shape& shape, model::model_registry& registry);

  /// Feeds sampled requests (arrival order): labels, the training simulation, the evaluation.
  void observe(const std::vector<request_event>& events);

  /// One round of the loop at the cache's logical time `tick` and wall time `now`: may train a
  /// candidate, decide about the one under evaluation, or roll back a watched promotion. Catches
  /// training failures and records them; the active model is never touched by a failure.
  void step(std::uint64_t tick, clock::time_point now, const live_counters& live);

  /// The model the candidate bucket group serves, and that group's threshold (see
  /// detail::in_candidate_group); null / 0 outside an evaluation. Lock-free.
  [[nodiscard]] std::shared_ptr<const model::installed_model> candidate() const {
    return candidate_.load(std::memory_order_acquire);
  }
  [[nodiscard]] std::uint64_t ab_threshold() const noexcept { return ab_threshold_.load(std::memory_order_relaxed); }

  /// Thread-safe snapshot.
  [[nodiscard]] online_report report() const;
  void note_drain(std::uint64_t events, std::uint64_t dropped);
  /// Records a failure outside a training round (the owner's loop); nothing else changes.
  void note_failure(const std::string& what);
  void set_state(const char* state);
  /// After repeated failures: drops the evaluation under way and the training data (which may be
  /// what failed), keeps the active model and the counters. With `count`, counted in
  /// report().restarts (a restart after failures, not one after a snapshot load).
  void restart(bool count = true);
  /// Failures and successful training rounds so far (cheap: no copy of the decisions).
  [[nodiscard]] std::pair<std::uint64_t, std::uint64_t> failures_and_rounds() const;
  /// For tests: the label horizon in ticks, and the eviction candidates still waiting for a label.
  [[nodiscard]] double horizon_ticks() const noexcept { return horizon_ticks_; }
  [[nodiscard]] std::size_t pending_candidates() const noexcept { return pending_.size(); }

 private:
  enum class phase { idle, evaluating, watching };

  struct pending_candidate {
    float features[model::feature_count];
    std::uint64_t key;
    std::uint64_t tick;
    bool labelled;
    std::uint8_t cls;  ///< the workload class current when it was logged (no_class: none yet)
  };

  static constexpr std::uint8_t no_class = 255;

  /// A miniature of the full cache (policy learned, no model, no candidate log).
  [[nodiscard]] mini_sim_options sim_options() const;
  void take_training_candidates();
  void label_on_request(std::uint64_t key, std::uint64_t tick);
  void retire_pending(std::uint64_t tick);
  void add_sample(const float* features, float label, std::uint8_t cls);
  bool due_for_training(clock::time_point now) const;
  void train_candidate(std::uint64_t tick, clock::time_point now);
  void start_evaluation(std::shared_ptr<const model::installed_model> cand);
  void decide(std::uint64_t tick, clock::time_point now);
  void start_watch(std::uint64_t version, const live_counters& before,
                   std::shared_ptr<const model::installed_model> previous);
  void warm_on_window(std::initializer_list<mini_sim*> sims);
  void watch(std::uint64_t tick, clock::time_point now, const live_counters& live);
  void end_evaluation();
  /// Drops what is timed by the stream's clock (window, pending candidates, simulations' contents
  /// and clocks): after a snapshot load, or when the clock moved back past the horizon.
  void forget_stream();
  /// Fresh, empty training and twin simulations of the active model.
  void build_simulations();
  void record(online_decision d);
  [[nodiscard]] float horizon_label() const;

  // Workload specialisation (config_.specialise; docs/workload.md).
  void classify_window();
  void specialise(std::uint64_t tick, clock::time_point now);
  void switch_class(std::uint8_t to, std::uint64_t tick, clock::time_point now);
  /// Ensemble mode: installs and activates the confidence-weighted ensemble of the class models
  /// (or activates the one model that dominates); unless `force`, only when the weights moved.
  /// Returns whether the active model changed.
  bool rebuild_ensemble(bool force, std::uint64_t tick);
  /// Activates `version` for the learner (not watched as an outside activation); timed.
  void activate_for_class(std::uint64_t version);
  /// The training simulation and its twin follow the active model.
  void adopt_active();
  /// The model the current class trains from and is judged against: its class model in ensemble
  /// mode, else the active model.
  [[nodiscard]] std::shared_ptr<const model::installed_model> reference_model() const;
  /// Pins exactly the class models in the registry.
  void refresh_pins();
  [[nodiscard]] bool specialising() const noexcept { return config_.specialise.enabled; }
  [[nodiscard]] std::size_t usable_samples() const;

  const online_config config_;
  const cache_shape shape_;
  model::model_registry& registry_;
  const std::uint64_t sim_capacity_;
  double horizon_ticks_;  // re-estimated from the sampled stream: capacity x horizon_capacities requests

  // The recent sampled requests (for warming evaluation simulations).
  std::deque<request_event> window_;
  // The training simulation: the active model over every sampled request, logging candidates.
  std::unique_ptr<mini_sim> train_sim_;
  std::deque<pending_candidate> pending_;
  std::uint64_t pending_base_ = 0;  // absolute index of pending_.front()
  std::unordered_map<std::uint64_t, std::vector<std::uint64_t>> waiting_;  // key -> pending indices
  std::deque<std::array<float, model::feature_count + 1>> samples_;  // features + label, capped
  std::uint64_t requests_since_training_ = 0;
  clock::time_point last_training_{};
  std::uint64_t last_tick_ = 0;

  // Evaluation of a candidate: the active model, the candidate and LRU simulated side by side.
  phase phase_ = phase::idle;
  std::unique_ptr<mini_sim> eval_active_, eval_candidate_, eval_lru_;
  std::uint64_t eval_n_ = 0, cand_only_ = 0, active_only_ = 0;
  std::uint64_t eval_misses_[3] = {0, 0, 0};  // active, candidate, LRU: after the warm-up
  std::uint64_t ab_req_[2] = {0, 0}, ab_hit_[2] = {0, 0};  // [0] active group, [1] candidate group
  std::atomic<std::shared_ptr<const model::installed_model>> candidate_;
  std::atomic<std::uint64_t> ab_threshold_{0};

  // The watch after an activation (the learner's promotion, or one the host made itself).
  std::uint64_t watched_version_ = 0;
  std::uint64_t known_active_ = 0;  // the active version as of the last step
  live_counters watch_start_live_{};
  live_counters baseline_start_live_{};  // the pre-swap baseline spans baseline_start..watch_start
  double hit_before_ = 0, ns_before_ = 0;
  std::chrono::system_clock::time_point activated_at_{};  // the registry's time of the swap
  std::uint64_t watch_requests_seen_ = 0;
  std::deque<live_counters> history_;  // live counters at recent steps, for the baseline
  std::shared_ptr<const model::installed_model> known_model_;  // the active model as of the last step
  // A twin of the training simulation: it runs the active model too, and keeps running the
  // replaced one after a swap while the training simulation switches to the new model. So the
  // watch compares the two, warm, on the same requests from the swap on: a live dip that they
  // attribute to the workload (the new model simulates significantly better) does not roll back.
  std::unique_ptr<mini_sim> twin_sim_;
  std::uint64_t twin_version_ = 0;
  bool watch_compares_ = false;
  std::uint64_t watch_new_only_ = 0, watch_old_only_ = 0, watch_vetoes_ = 0;

  // Workload specialisation: the latest classification of the sampled stream, the class being
  // served and each class's model. Samples carry the class they were logged under; a class trains
  // on its own samples (and on those logged before the first classification).
  std::unique_ptr<workload::workload_classifier> classifier_;
  std::uint64_t since_classification_ = 0;
  bool fresh_classification_ = false;
  workload::classification latest_{};
  std::uint8_t current_class_ = no_class;
  std::uint8_t pending_class_ = no_class;
  std::uint32_t pending_windows_ = 0;
  std::array<std::uint64_t, workload::class_count> class_model_{};
  std::deque<std::uint8_t> sample_class_;  // parallel to samples_
  std::array<std::size_t, workload::class_count + 1> class_samples_{};  // last: no_class
  std::vector<std::uint64_t> pinned_;
  std::array<double, workload::class_count> ensemble_weights_{};  // by class, of the active ensemble
  std::uint64_t replaced_class_model_ = 0;  // ensemble mode: what the latest promotion replaced

  // Load (for yielding): keys/s between steps and its peak.
  live_counters last_live_{};
  clock::time_point last_step_{};
  double peak_load_ = 0;

  mutable std::mutex report_mutex_;
  online_report report_;
};

/// Converts drained events to requests: finds and find_or_insert are requests; a write is one
/// too unless it fills the key's preceding sampled miss (a read-through fill). `last_kind` keeps
/// the latest event kind per sampled key across calls.
void to_requests(const std::uint64_t* keys, const std::uint64_t* ticks, const std::uint8_t* kinds, std::size_t n,
                 std::unordered_map<std::uint64_t, std::uint8_t>& last_kind, std::vector<request_event>& out);

}  // namespace belady::online
