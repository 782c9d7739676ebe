#pragma once
/// @file
/// Thresholds on the cache's figures with warning and critical levels. The cache evaluates its
/// rules every cache_config::ops.alert_interval_ms on a monitor thread (and on
/// cache::evaluate_alerts()); each change of a rule's level is an alert_event delivered to every
/// subscriber.
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "belady/metrics.hpp"

namespace belady {

/// What a rule watches. hit_ratio and prediction_accuracy alarm when they fall below the
/// thresholds; latency and memory when they rise above them.
enum class alert_metric : std::uint8_t {
  hit_ratio,            ///< over the rule's window (1, 10 or 60 s)
  latency_p99_us,       ///< p99 batch latency of the rule's operation (none: the worst operation's)
  memory_bytes,         ///< device_bytes + host_bytes
  prediction_accuracy,  ///< metrics_snapshot::prediction_accuracy (not judged while unknown)
};

[[nodiscard]] constexpr const char* to_string(alert_metric m) noexcept {
  switch (m) {
    case alert_metric::hit_ratio: return "hit_ratio";
    case alert_metric::latency_p99_us: return "latency_p99_us";
    case alert_metric::memory_bytes: return "memory_bytes";
    case alert_metric::prediction_accuracy: return "prediction_accuracy";
  }
  return "unknown";
}

enum class alert_level : std::uint8_t { ok, warning, critical };

[[nodiscard]] constexpr const char* to_string(alert_level l) noexcept {
  switch (l) {
    case alert_level::ok: return "ok";
    case alert_level::warning: return "warning";
    case alert_level::critical: return "critical";
  }
  return "unknown";
}

/**
 * @brief One threshold rule. For hit_ratio and prediction_accuracy, critical <= warning (lower is
 * worse); for latency and memory, warning <= critical. A value exactly at a threshold reaches it.
 */
struct alert_rule {
  alert_metric metric = alert_metric::hit_ratio;
  double warning = 0;
  double critical = 0;
  /// hit_ratio: the window, 1, 10 or 60 seconds.
  double window_seconds = 10;
  /// hit_ratio: fewer lookups than this in the window leave the level unchanged (too little
  /// evidence); latency: the calls since the rule was last judged accumulate until there are
  /// this many, then their p99 is judged.
  std::uint64_t min_samples = 100;
  /// latency_p99_us: the operation; empty means the worst p99 over the operations, each judged
  /// on its own calls once it has min_samples of them (docs/operations.md, "Alerts").
  std::optional<operation> op;
};

/// A rule changed level.
struct alert_event {
  std::size_t rule = 0;  ///< index in the rules given to set_alert_rules
  alert_metric metric = alert_metric::hit_ratio;
  alert_level level = alert_level::ok;
  alert_level previous = alert_level::ok;
  double value = 0;      ///< the figure that was judged
  double threshold = 0;  ///< the threshold crossed (the warning one when back to ok)
  std::chrono::system_clock::time_point at{};
  std::string message;   ///< e.g. "hit_ratio over 10 s is 0.412, below the warning level 0.5"
};

/// Called on the monitor thread (or the thread calling evaluate_alerts()), outside the alert
/// rules' lock: it may call any member of the cache, but must not destroy the cache (its
/// destructor joins the monitor thread). An exception it throws is logged and dropped.
using alert_callback = std::function<void(const alert_event&)>;

}  // namespace belady
