#pragma once
// Alert rules, their current levels, and the subscribers that hear about level changes.
#include <array>
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

  /// The level changes of one evaluation and the subscribers to hear them.
  struct evaluation {
    std::vector<alert_event> events;
    std::vector<alert_callback> listeners;
  };

  /// Judges every rule on `m` and, for latency, on the operations' internal histograms (`fine`,
  /// metrics_recorder::fine_counts). Calls must not overlap (the owner serialises them).
  [[nodiscard]] evaluation judge(const metrics_snapshot& m, const fine_histograms& fine);
  /// Logs each event and calls the listeners, in order, one evaluation at a time. The owner
  /// calls it after releasing what serialises judge(), so that a callback may evaluate again.
  void deliver(const evaluation& e);
  /// judge() then deliver(); returns the level changes.
  std::vector<alert_event> evaluate(const metrics_snapshot& m, const fine_histograms& fine);

  /// Rules now at warning / critical.
  [[nodiscard]] std::pair<std::uint64_t, std::uint64_t> counts() const;

 private:
  struct rule_state {
    alert_rule rule;
    alert_level level = alert_level::ok;
    // latency: each operation's histogram when it was last judged
    std::array<std::vector<std::uint64_t>, operation_count> last_counts;
  };
  /// The figure a rule judges, or false when there is too little evidence to judge.
  static bool value_of(rule_state& s, const metrics_snapshot& m, const fine_histograms& fine, double& value);

  void deliver_one(const alert_event& e, const std::vector<alert_callback>& listeners);

  mutable std::mutex mutex_;
  std::recursive_mutex delivery_mutex_;
  std::vector<rule_state> rules_;
  std::vector<std::pair<std::uint64_t, alert_callback>> subscribers_;
  std::uint64_t next_id_ = 1;
};

}  // namespace belady::ops
