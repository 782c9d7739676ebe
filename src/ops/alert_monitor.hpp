#pragma once
// Alert rules, their current levels, and the subscribers that hear about level changes.
#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <mutex>
#include <thread>
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
  /// Returns whether `id` was subscribed. After it returns the callback is not running and is not
  /// called again, except when a callback unsubscribes itself (its own call is still running).
  bool unsubscribe(std::uint64_t id);
  [[nodiscard]] bool active() const;  ///< rules and subscribers exist

  using fine_histograms = std::array<std::vector<std::uint64_t>, operation_count>;

  /// Judges every rule on `m` and, for latency, on the operations' internal histograms (`fine`,
  /// metrics_recorder::fine_counts), and queues the level changes for delivery; returns them.
  /// Calls must not overlap (the owner serialises them): the queue is in judging order.
  std::vector<alert_event> judge(const metrics_snapshot& m, const fine_histograms& fine);
  /// Logs the queued events and calls the subscribers, in judging order, one thread at a time.
  /// The owner calls it after releasing what serialises judge(), so a callback may evaluate
  /// again: on the delivering thread that evaluation is only queued, and delivered after the
  /// events before it.
  void deliver_pending();
  /// judge() then deliver_pending(); returns the level changes.
  std::vector<alert_event> evaluate(const metrics_snapshot& m, const fine_histograms& fine);

  /// Rules now at warning / critical.
  [[nodiscard]] std::pair<std::uint64_t, std::uint64_t> counts() const;

 private:
  struct rule_state {
    alert_rule rule;
    alert_level level = alert_level::ok;
    // latency: each operation's histogram when it was last judged, and the p99 it was judged at
    // (NaN: none, or no calls since)
    std::array<std::vector<std::uint64_t>, operation_count> last_counts;
    std::array<double, operation_count> last_p99{};
  };
  /// The figure a rule judges, or false when there is too little evidence to judge.
  static bool value_of(rule_state& s, const metrics_snapshot& m, const fine_histograms& fine, double& value);

  using subscriber = std::pair<std::uint64_t, alert_callback>;
  struct evaluation {
    std::vector<alert_event> events;
    std::vector<subscriber> listeners;  ///< the subscribers when it was judged
  };
  void deliver_one(const alert_event& e, const std::vector<subscriber>& listeners);
  [[nodiscard]] bool subscribed(std::uint64_t id) const;

  mutable std::mutex mutex_;
  std::mutex queue_mutex_;     // guards queue_
  std::deque<evaluation> queue_;
  std::mutex delivery_mutex_;  // one delivering thread at a time
  std::atomic<std::thread::id> delivering_{};  // that thread, while it delivers
  std::vector<rule_state> rules_;
  std::vector<subscriber> subscribers_;
  std::uint64_t next_id_ = 1;
};

}  // namespace belady::ops
