#pragma once
/// @file
/// What an operator watches: cache::metrics() returns a metrics_snapshot; to_prometheus() and
/// to_json() export it. Recording costs two clock reads and a few relaxed atomic adds per batch
/// call (never per key) and can be turned off with cache_config::ops.metrics.
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "belady/types.hpp"

namespace belady {

/// The public batch operations, as metrics name them.
enum class operation : std::uint8_t {
  find,
  contains,
  insert_or_assign,
  insert_and_evict,
  find_or_insert,
  assign,
  erase,
  clear,
  export_batch,
};
inline constexpr int operation_count = 9;

[[nodiscard]] constexpr const char* to_string(operation op) noexcept {
  switch (op) {
    case operation::find: return "find";
    case operation::contains: return "contains";
    case operation::insert_or_assign: return "insert_or_assign";
    case operation::insert_and_evict: return "insert_and_evict";
    case operation::find_or_insert: return "find_or_insert";
    case operation::assign: return "assign";
    case operation::erase: return "erase";
    case operation::clear: return "clear";
    case operation::export_batch: return "export_batch";
  }
  return "unknown";
}

/**
 * @brief Latency of one operation's batch calls, from a log-linear histogram (16 sub-buckets per
 * power of two, so a bucket spans at most 1/16 of its value; a quantile is reported as its
 * bucket's midpoint, within 1/32 of the true value).
 *
 * Synchronous calls are timed from entry to return. An `_async` call is timed until it has been
 * queued (on the host backend that includes the work, which completes before returning).
 */
struct latency_summary {
  std::uint64_t count = 0;  ///< timed calls
  double sum_us = 0;        ///< total time of the timed calls
  double p50_us = 0, p95_us = 0, p99_us = 0;
  double max_us = 0;        ///< the exact maximum
  /// Cumulative histogram for export: (upper bound in microseconds, calls taking at most that),
  /// ascending; the last bound is +infinity and its count equals `count`.
  std::vector<std::pair<double, std::uint64_t>> buckets;
};

struct operation_metrics {
  operation op = operation::find;
  std::uint64_t calls = 0;   ///< batch calls that ran (synchronous and async)
  std::uint64_t keys = 0;    ///< keys in those calls
  std::uint64_t errors = 0;  ///< calls that threw (a bad argument, memory): nothing ran
  latency_summary latency;
};

/// Figures of the latest `seconds` of wall time (less while the cache is younger).
struct window_metrics {
  double seconds = 0;          ///< the window's length: 1, 10 or 60
  double covered_seconds = 0;  ///< how much of it the figures cover (<= seconds)
  std::uint64_t lookups = 0;   ///< keys looked up by synchronous find / find_or_insert
  std::uint64_t hits = 0;
  double hit_ratio = 0;        ///< hits / lookups; 0 with no lookups (see lookups)
  std::uint64_t calls = 0;     ///< batch calls of every operation
  std::uint64_t keys = 0;
  double calls_per_second = 0;
  double keys_per_second = 0;
};

/**
 * @brief Everything metrics() knows, at one moment. Counters are cumulative since construction
 * (or since the last load_snapshot(), which restores contents, not counters).
 *
 * Hits and write outcomes come from synchronous calls, whose results the cache sees; an `_async`
 * call counts in calls and keys only.
 */
struct metrics_snapshot {
  // Identity.
  std::string backend;  ///< "host" or "cuda"
  std::string policy;
  std::uint64_t capacity = 0, dim = 0, bucket_size = 0;
  double uptime_seconds = 0;
  std::uint64_t clock = 0;  ///< the logical clock (batches so far)

  // Contents.
  std::uint64_t size = 0;  ///< stored keys (a pass over the buckets)
  double load_factor = 0;

  // Lookups.
  std::uint64_t lookups = 0, hits = 0;
  double hit_ratio = 0;                 ///< cumulative; 0 before any lookup
  std::vector<window_metrics> windows;  ///< 1 s, 10 s and 60 s

  // Writes (synchronous calls).
  std::uint64_t inserted = 0, assigned = 0, evicted = 0, refused = 0, erased = 0;

  std::vector<operation_metrics> operations;  ///< one per operation, in enum order
  double calls_per_second = 0;  ///< over the 10 s window
  double keys_per_second = 0;

  // Memory.
  std::uint64_t device_bytes = 0;  ///< belady's allocations in device memory (cuda backend)
  std::uint64_t host_bytes = 0;    ///< belady's table and logs in host memory (host backend)
  std::uint64_t process_resident_bytes = 0;  ///< the whole process (Linux /proc), 0 elsewhere

  // Model and online learning (policy::learned).
  std::uint64_t active_model_version = 0;
  std::uint64_t models_kept = 0;
  bool online = false;
  std::string trainer_state;          ///< online_report::state, "off" without online learning
  double trainer_busy_seconds = 0;
  double trainer_time_share = 0;      ///< busy seconds / uptime
  std::uint64_t promotions = 0, rejections = 0, rollbacks = 0;
  std::uint64_t training_failures = 0, trainer_restarts = 0;
  std::uint64_t sampled_events = 0, sampled_events_dropped = 0;
  /// Pairwise ranking accuracy of the active model on the latest training window (share of
  /// pairs of sampled accesses ordered by their true next use); -1 while unknown.
  double prediction_accuracy = -1;
  /// Workload specialisation (online.specialise): the class whose model serves ("none" before
  /// the first classification, empty when specialisation is off) and how often it changed.
  std::string workload_class;
  std::uint64_t workload_switches = 0;

  // Health (see cache::health(); metrics() does not verify the table).
  bool degraded = false;
  std::uint64_t alerts_warning = 0, alerts_critical = 0;  ///< rules now at that level
};

/// Options of to_prometheus().
struct prometheus_options {
  std::string prefix = "belady";  ///< metric names start with prefix + "_"
  /// Labels added to every sample, e.g. {{"cache", "embeddings"}}; names must match
  /// [a-zA-Z_][a-zA-Z0-9_]*, must not start with "__", and must not be one the exporter writes
  /// itself (backend, policy, window, kind, class, level, state, op, le); values are escaped.
  std::vector<std::pair<std::string, std::string>> labels;
};

/**
 * @brief The snapshot in the Prometheus text exposition format (version 0.0.4): HELP and TYPE
 * for every family, counters ending in _total, latencies as histograms in seconds with
 * op="..." labels, windows as gauges with window="1s|10s|60s".
 * @throw belady::invalid_argument for a bad prefix or label name
 */
[[nodiscard]] BELADY_API std::string to_prometheus(const metrics_snapshot& m, const prometheus_options& options = {});

/// The snapshot as one JSON object (field names as in metrics_snapshot; latencies in microseconds).
[[nodiscard]] BELADY_API std::string to_json(const metrics_snapshot& m);

}  // namespace belady
