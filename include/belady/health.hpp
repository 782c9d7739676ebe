#pragma once
/// @file
/// cache::health(): table invariants and degraded states, checked without stopping the cache.
#include <cstdint>
#include <string>
#include <vector>

namespace belady {

enum class health_status : std::uint8_t {
  ok,        ///< invariants hold, nothing degraded
  degraded,  ///< serving, but something needs an operator (see problems)
  failed,    ///< a table invariant is broken: stored data cannot be trusted
};

[[nodiscard]] constexpr const char* to_string(health_status s) noexcept {
  switch (s) {
    case health_status::ok: return "ok";
    case health_status::degraded: return "degraded";
    case health_status::failed: return "failed";
  }
  return "unknown";
}

struct health_report {
  health_status status = health_status::ok;
  std::vector<std::string> problems;  ///< one line each, empty when ok

  // Table verification (when asked for).
  bool table_checked = false;
  std::uint64_t keys = 0;              ///< occupied slots seen
  std::uint64_t duplicate_keys = 0;    ///< keys stored in more than one slot
  std::uint64_t misplaced_keys = 0;    ///< keys outside the bucket they hash to, or with a stale digest
  std::uint64_t count_mismatches = 0;  ///< buckets whose occupancy count differs from their keys

  // Degraded states.
  std::uint64_t trainer_consecutive_failures = 0;
  std::uint64_t trainer_restarts = 0;     ///< the online loop restarted after failures (backoff)
  std::uint64_t recent_rollbacks = 0;     ///< within ops.rollback_window_s
  /// Allocations the cache could not get since construction, where it allocates after it: the
  /// candidate log, snapshot loading, the online-learning loop. (A batch call that runs out of
  /// memory throws to its caller and is counted in that operation's errors.)
  std::uint64_t allocation_failures = 0;
  std::uint64_t alerts_critical = 0;      ///< alert rules now critical
};

}  // namespace belady
