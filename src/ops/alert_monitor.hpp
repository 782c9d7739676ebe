#pragma once
// Alert rules, their current levels, and the subscribers that hear about level changes.
#include <cstdint>
#include <mutex>
#include <utility>
#include <vector>

#include "belady/alerts.hpp"
#include "belady/metrics.hpp"
#include "ops/metrics_recorder.hpp"

namespace belady::ops {

/// Throws belady::invalid_argument naming rule `index` and what is wrong with it.
void validate_rule(const alert_rule& r, std::size_t index);

/// Thread-safe. Callbacks run outside the monitor's lock, on the evaluating thread.
class alert_monitor {
 public:
  /// Validates every rule first (nothing changes on error); levels restart at ok.
  void set_rules(std::vector<alert_rule> rules);
  [[nodiscard]] std::vector<alert_rule> rules() const;
  std::uint64_t subscribe(alert_callback cb);
  /// Returns whether `id` was subscribed.
  bool unsubscribe(std::uint64_t id);
  [[nodiscard]] bool active() const;  ///< rules and subscribers exist

  using fine_histograms = std::array<std::vector<std::uint64_t>, operation_count>;

  /// Judges every rule on `m` and, for latency, on the operations' internal histograms (`fine`,
  /// metrics_recorder::fine_counts); returns the level changes (also delivered to subscribers).
  /// Calls must not overlap (the owner serialises them).
  std::vector<alert_event> evaluate(const metrics_snapshot& m, const fine_histograms& fine);

  /// Rules now at warning / critical.
  [[nodiscard]] std::pair<std::uint64_t, std::uint64_t> counts() const;

 private:
  struct rule_state {
    alert_rule rule;
    alert_level level = alert_level::ok;
    std::vector<std::uint64_t> last_counts;  // latency: the histogram when it was last judged
  };
  /// The figure a rule judges, or false when there is too little evidence to judge.
  static bool value_of(rule_state& s, const metrics_snapshot& m, const fine_histograms& fine, double& value);

  mutable std::mutex mutex_;
  std::vector<rule_state> rules_;
  std::vector<std::pair<std::uint64_t, alert_callback>> subscribers_;
  std::uint64_t next_id_ = 1;
};

}  // namespace belady::ops
