#pragma once
/// @file
/// What online learning reports (cache::online_report()): the decisions it took, with their
/// figures, and the state of its trainer.
#include <array>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace belady {

/// One decision of the online learner about a model version.
struct online_decision {
  enum class kind : std::uint8_t {
    promoted,     ///< the candidate became the active model
    rejected,     ///< the candidate was not significantly better (or was worse); it stays a shadow
    rolled_back,  ///< a promoted model degraded the live figures; the previous one is active again
    kept,         ///< a promoted model survived its watch
    failed,       ///< a training round failed (exception, non-finite loss); nothing changed
    switched,     ///< workload specialisation: the workload class changed and its model (or a
                  ///< new ensemble) became active; `version` is the model now serving
  };
  kind what = kind::rejected;
  std::uint64_t version = 0;       ///< the model decided about (0: none, e.g. a failed round)
  std::uint64_t tick = 0;          ///< the cache's logical time of the decision
  std::chrono::steady_clock::time_point at{};
  std::string reason;              ///< human-readable: why, with the figures
  // Shadow evaluation (promoted / rejected): miniature simulations on the same sampled requests.
  std::uint64_t eval_requests = 0;
  double sim_miss_active = 0;      ///< the active model's simulated miss ratio
  double sim_miss_candidate = 0;
  double sim_miss_lru = 0;
  double p_value = 1;              ///< McNemar's exact one-sided test, candidate better than active
  // Live A/B (sampled requests by bucket group).
  std::uint64_t ab_requests_candidate = 0;
  double ab_hit_candidate = 0;
  std::uint64_t ab_requests_active = 0;
  double ab_hit_active = 0;
  // Rollback watch (rolled_back / kept): live figures before and after the promotion.
  double hit_before = 0;
  double hit_after = 0;
  double ns_per_key_before = 0;
  double ns_per_key_after = 0;
  double detect_ms = 0;            ///< rolled_back: promotion to detection (wall time)
  double revert_ms = 0;            ///< rolled_back: promotion to the previous model active again
};

[[nodiscard]] constexpr const char* to_string(online_decision::kind k) noexcept {
  switch (k) {
    case online_decision::kind::promoted: return "promoted";
    case online_decision::kind::rejected: return "rejected";
    case online_decision::kind::rolled_back: return "rolled_back";
    case online_decision::kind::kept: return "kept";
    case online_decision::kind::failed: return "failed";
    case online_decision::kind::switched: return "switched";
  }
  return "unknown";
}

/// Workload specialisation's state (online_config::specialise). Classes are indexed as
/// belady::workload::workload_class: uniform, zipfian, scan, looping, mixed.
struct specialisation_report {
  bool enabled = false;
  std::string current_class;           ///< the class whose model serves; empty before the first
  std::string latest_class;            ///< the latest classification's class...
  double latest_confidence = 0;        ///< ...and its confidence
  std::uint64_t classifications = 0;
  std::array<std::uint64_t, 5> windows_per_class{};  ///< classifications by class
  std::array<std::uint64_t, 5> class_models{};       ///< each class's model version (0: none yet)
  std::uint64_t switches = 0;          ///< times the current class changed
  std::uint64_t activations = 0;       ///< switches and ensemble rebuilds that swapped the model
  /// Wall time of the swap itself (registry activation: what the request path can notice), in
  /// microseconds: the latest and the largest.
  double last_switch_us = 0, max_switch_us = 0;
  /// Ensemble mode: ensembles built and installed, and the latest build-and-install time.
  std::uint64_t ensembles = 0;
  double last_ensemble_us = 0;
};

/// A snapshot of online learning.
struct online_report {
  bool enabled = false;
  std::string state;                  ///< idle, training, evaluating, watching, suspended, stopped
  std::uint64_t active_version = 0;
  std::uint64_t sampled_events = 0;   ///< drained from the sample buffers
  std::uint64_t dropped_events = 0;   ///< did not fit in a sample buffer
  std::uint64_t sampled_requests = 0; ///< events that count as requests (labels, simulations)
  std::uint64_t training_rounds = 0;
  std::uint64_t promotions = 0, rejections = 0, rollbacks = 0, failures = 0;
  std::uint64_t suspensions = 0;      ///< training rounds put off because the cache was busy
  double trainer_busy_seconds = 0;    ///< time spent training and simulating
  /// Pairwise ranking accuracy of the active model on the latest round's held-out samples (share
  /// of pairs with different next-use labels that it orders correctly); -1 before the first round.
  double prediction_accuracy = -1;
  std::uint64_t restarts = 0;         ///< the loop restarted after failures (see ops_config)
  std::string last_error;             ///< the latest failure, if any
  /// Oldest first: the latest 256, except that rollbacks are kept longer (the oldest other
  /// decision is dropped first).
  std::vector<online_decision> decisions;
  specialisation_report specialisation;
};

}  // namespace belady
