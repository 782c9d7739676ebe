#pragma once
/// @file
/// belady::cache: a fixed-capacity, set-associative key -> vector cache with score-based eviction,
/// executed by the host backend (CPU threads) or the cuda backend (kernels on a stream).
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <vector>

#include "belady/alerts.hpp"
#include "belady/config.hpp"
#include "belady/error.hpp"
#include "belady/health.hpp"
#include "belady/metrics.hpp"
#include "belady/online.hpp"
#include "belady/snapshot.hpp"
#include "belady/types.hpp"

namespace belady {

namespace detail {
template <class Key>
class backend;
}
namespace model {
class model_registry;
}

/// What a batch of writes did. Counts are per occurrence in the batch.
struct insert_result {
  std::size_t inserted = 0;  ///< keys that entered the cache (into a free slot or by eviction)
  std::size_t assigned = 0;  ///< keys already present whose value was overwritten
  std::size_t evicted = 0;   ///< residents evicted to make room
  std::size_t refused = 0;   ///< newcomers refused by admission (scored below every resident)
  /// Entries handed back by insert_and_evict: the evicted residents plus the refused newcomers.
  [[nodiscard]] std::size_t handed_back() const noexcept { return evicted + refused; }
};

/// Eviction candidates logged by policy::learned for training (see cache::set_candidate_log):
/// entry i has features[i * model::feature_count ...], its key, and the logical time of the
/// eviction decision.
template <class Key>
struct eviction_candidates {
  std::vector<float> features;
  std::vector<Key> keys;
  std::vector<std::uint64_t> times;
  std::uint64_t dropped = 0;  ///< entries that did not fit in the log
};

/**
 * @brief A GPU- or host-resident cache mapping keys to fixed-width vectors.
 *
 * Keys hash to one bucket of `bucket_size` slots; a key may occupy any slot of its bucket. When
 * the bucket is full an insert evicts the slot with the lowest score (policy::lru, lfu, fifo,
 * custom), or is refused when the newcomer scores lower than every resident (admission).
 *
 * Buffers: on the host backend every span refers to host memory; on the cuda backend to memory
 * the device can access (device, managed or pinned host memory). Spans are never dereferenced on
 * the host by the cuda backend.
 *
 * Synchronization: a plain operation returns when its work is complete. An `_async` operation is
 * ordered on `stream` and may return before it completes (the host backend completes it before
 * returning); the caller keeps its buffers alive and unchanged until the stream reaches that
 * point. The stream is always the last argument.
 *
 * Thread safety: every operation may be called concurrently from several threads and streams on
 * the same cache; concurrent operations behave as if applied one key at a time in some order
 * (per-bucket locks): no torn values, no lost keys, no duplicate copies of a key. Construction,
 * destruction and move are not concurrent with anything.
 *
 * Keys repeated within one batch are resolved deterministically, as a sequential loop over the
 * batch would: for insert_or_assign, insert_and_evict and assign the last occurrence's value is
 * stored; for find_or_insert the first occurrence's value is inserted (if the key was absent),
 * every occurrence returns the stored value, and only the first reports found = false. This
 * holds unless the same batch also evicts the key (possible only when one batch brings more new
 * keys to a bucket than it has slots): then a find_or_insert occurrence may return its own input
 * with found = false.
 *
 * Validation: arguments are checked before anything runs; a bad argument throws
 * belady::invalid_argument naming it, and nothing stored changes. Reserved keys (empty_key,
 * reclaim_key) are rejected too, but checked on `stream`, so that no call waits for its keys
 * (on the cuda backend they are in device memory): a small pass counts a batch's reserved keys
 * and the batch's kernels do nothing when there are any. Such a batch changes nothing stored
 * and writes none of its outputs; only the logical clock advances (its tick; the call also
 * counts in metrics() and towards the learned policy's sketch ageing). A plain operation then
 * throws invalid_argument naming `keys` with the count. An `_async` operation cannot throw once
 * it has returned: the cache keeps one running count of the reserved keys its `_async` calls
 * met, and the first synchronize() (any thread, any stream) that runs after a call's check has
 * run on its stream throws it, with the keys met since the last report. Synchronize the call's
 * own stream with cache::synchronize() to be sure of seeing its report; a wait by other means
 * (cudaStreamSynchronize, events) reports nothing, and a report still pending when the cache is
 * destroyed is lost.
 *
 * @tparam Key std::uint64_t or std::uint32_t
 * @tparam T float, belady::half, belady::bfloat16, std::int8_t or std::byte (raw bytes)
 */
template <cache_key Key, cache_value T>
class BELADY_API cache {
 public:
  using key_type = Key;
  using value_type = T;

  /// @throw invalid_argument for capacity 0 or too large, dim 0, bad bucket_size
  /// @throw out_of_memory when the table does not fit (with byte counts)
  /// @throw backend_unavailable when backend::cuda is asked for and cannot be used
  explicit cache(const cache_config& config);
  ~cache();
  cache(cache&&) noexcept;
  cache& operator=(cache&&) noexcept;
  cache(const cache&) = delete;
  cache& operator=(const cache&) = delete;

  /// The configuration, with capacity rounded up to whole buckets and the backend resolved.
  [[nodiscard]] const cache_config& config() const noexcept;
  [[nodiscard]] std::size_t capacity() const noexcept;
  [[nodiscard]] std::size_t dim() const noexcept;
  [[nodiscard]] std::size_t bucket_count() const noexcept;
  [[nodiscard]] belady::backend executor() const noexcept;

  /**
   * @brief Looks keys up; a hit copies the value out and counts as an access (updates recency,
   * frequency and the policy's score).
   * @param keys n keys
   * @param values n * dim elements; rows of misses are left unchanged
   * @param found n flags
   * @param scores optional, n: the hit's score after the access
   * @return the number of hits
   */
  std::size_t find(std::span<const Key> keys, std::span<T> values, std::span<bool> found,
                   std::span<std::uint64_t> scores = {}, stream_view stream = {});
  /// find without the count; see the class note on `_async`.
  void find_async(std::span<const Key> keys, std::span<T> values, std::span<bool> found,
                  std::span<std::uint64_t> scores = {}, stream_view stream = {});

  /// Whether each key is present. Not an access: metadata and scores do not change.
  std::size_t contains(std::span<const Key> keys, std::span<bool> found, stream_view stream = {});
  void contains_async(std::span<const Key> keys, std::span<bool> found, stream_view stream = {});

  /**
   * @brief Inserts absent keys (evicting or refusing when the bucket is full) and overwrites
   * present ones.
   * @param scores n caller scores: required for policy::custom, rejected for the others
   */
  insert_result insert_or_assign(std::span<const Key> keys, std::span<const T> values,
                                 std::span<const std::uint64_t> scores = {},
                                 stream_view stream = {});
  void insert_or_assign_async(std::span<const Key> keys, std::span<const T> values,
                              std::span<const std::uint64_t> scores = {}, stream_view stream = {});

  /**
   * @brief Like insert_or_assign, and hands back what left or could not enter: the evicted
   * residents and the refused newcomers, so a caller can write them to a lower tier.
   * @param evicted_keys at least n
   * @param evicted_values at least n * dim
   * @param evicted_scores optional, at least n
   * @return counts; the first handed_back() entries of the evicted_* spans are filled (in an
   * unspecified order)
   */
  insert_result insert_and_evict(std::span<const Key> keys, std::span<const T> values,
                                 std::span<Key> evicted_keys, std::span<T> evicted_values,
                                 std::span<std::uint64_t> evicted_scores = {},
                                 std::span<const std::uint64_t> scores = {},
                                 stream_view stream = {});

  /**
   * @brief Returns the stored value of present keys; inserts the given value for absent ones.
   * @param values in: n * dim values to insert on a miss; out: the stored values (a refused
   * newcomer keeps its input)
   * @param found out: n flags, true for keys that were present
   * @param scores n caller scores: required for policy::custom, rejected for the others
   * @return the number of keys found
   */
  std::size_t find_or_insert(std::span<const Key> keys, std::span<T> values, std::span<bool> found,
                             std::span<const std::uint64_t> scores = {}, stream_view stream = {});
  void find_or_insert_async(std::span<const Key> keys, std::span<T> values, std::span<bool> found,
                            std::span<const std::uint64_t> scores = {}, stream_view stream = {});

  /// Overwrites the values of present keys; absent keys are ignored. Returns how many were
  /// present. For policy::custom, `scores` (optional) replaces the scores too.
  std::size_t assign(std::span<const Key> keys, std::span<const T> values,
                     std::span<const std::uint64_t> scores = {}, stream_view stream = {});
  void assign_async(std::span<const Key> keys, std::span<const T> values,
                    std::span<const std::uint64_t> scores = {}, stream_view stream = {});

  /// Removes keys; returns how many were present.
  std::size_t erase(std::span<const Key> keys, stream_view stream = {});
  void erase_async(std::span<const Key> keys, stream_view stream = {});

  /// Removes every key.
  void clear(stream_view stream = {});
  void clear_async(stream_view stream = {});

  /// Number of stored keys (a pass over the buckets; concurrent writers make it approximate).
  [[nodiscard]] std::size_t size(stream_view stream = {}) const;
  /// size() / capacity().
  [[nodiscard]] double load_factor(stream_view stream = {}) const;

  /**
   * @brief Copies the stored entries of slots [offset, offset + count) out, compacted.
   * Iterate offset over [0, capacity()) to export everything.
   * @param keys at least count; values at least count * dim; scores optional, at least count
   * @return the number of entries written
   */
  std::size_t export_batch(std::size_t offset, std::size_t count, std::span<Key> keys,
                           std::span<T> values, std::span<std::uint64_t> scores = {},
                           stream_view stream = {}) const;

  /// Waits for the cache's work on `stream`. Then throws invalid_argument ("keys") when `_async`
  /// calls whose key check has run, on any stream, met reserved keys since the last report
  /// (those calls changed nothing); each is reported once, to one synchronize() (see the class
  /// note on validation).
  /// @throw invalid_argument as above
  void synchronize(stream_view stream = {}) const;

  /// The logical clock: the time stamp of the latest batch call (one tick per batch).
  [[nodiscard]] std::uint64_t now() const noexcept;

  /**
   * @brief The models of policy::learned (include belady/model/registry.hpp). Install and
   * activate a model there; each write batch loads the active one once and keeps it alive until
   * its work completes. Until a model is active, learned evicts in LRU order.
   * @throw invalid_argument when the cache's policy is not learned
   */
  [[nodiscard]] model::model_registry& models();

  /**
   * @brief Records eviction candidates (the victim and one other slot per eviction, with their
   * features) into a log of `capacity` entries for training; 0 turns it off. Entries that do not
   * fit are counted, never waited for. Not concurrent with other operations.
   * @throw invalid_argument when the cache's policy is not learned
   */
  void set_candidate_log(std::size_t capacity);
  /// Copies the logged candidates out and empties the log. Not concurrent with other operations.
  [[nodiscard]] eviction_candidates<Key> take_candidate_log();

  /**
   * @brief Online learning's state, counters and decisions (promotions, rejections, rollbacks,
   * with their figures). Empty (enabled = false) unless config().online.enabled. Thread-safe.
   */
  [[nodiscard]] online_report online_status() const;

  /**
   * @brief Manual mode (config().online.manual): drains the sampled events, feeds them to the
   * learner, and lets it train, decide or watch once. Call it between batches at points of the
   * caller's choosing (belady-replay --online calls it every N requests); concurrent calls
   * serialise. Training failures are recorded in online_status(), not thrown.
   * @throw invalid_argument when online learning is off or not in manual mode
   */
  void online_step();

  /**
   * @brief Sets the logical clock: the next batch's time stamp is `tick` (now() becomes tick - 1).
   * For replaying a recorded stream at its original times, as the online learner's miniature
   * simulations do: several calls may then share a time stamp. Moving it backwards is allowed
   * but makes the recency of stored entries meaningless. Not concurrent with other operations.
   * @throw invalid_argument when tick is 0 (0 is before the first batch)
   */
  void set_clock(std::uint64_t tick);

  // ---- operations: metrics, alerts, health, snapshots (see docs/operations.md) ----

  /**
   * @brief The cache's figures now: counters, hit ratio windows, latency histograms, memory,
   * model and trainer state (see metrics_snapshot). Thread-safe; costs one pass over the buckets
   * (for size) and a copy of the histograms. Export with to_prometheus() or to_json().
   */
  [[nodiscard]] metrics_snapshot metrics(stream_view stream = {}) const;

  /**
   * @brief Replaces the alert rules (levels restart at ok). Every rule is checked first: a bad
   * one throws invalid_argument naming it, and the rules in force stay. Thread-safe.
   */
  void set_alert_rules(std::vector<alert_rule> rules);
  /// The rules in force.
  [[nodiscard]] std::vector<alert_rule> alert_rules() const;
  /**
   * @brief Calls `callback` with every change of an alert rule's level. The cache's monitor
   * thread evaluates the rules every config().ops.alert_interval_ms while rules and subscribers
   * exist. Returns an id for unsubscribe(). Thread-safe.
   * @throw invalid_argument when callback is empty
   */
  std::uint64_t subscribe(alert_callback callback);
  /// Returns whether `id` was subscribed. After it returns the callback is not running and is not
  /// called again, so what it captured may be freed; it waits for a delivery under way on another
  /// thread (a callback that unsubscribes itself does not wait for its own call).
  bool unsubscribe(std::uint64_t id);
  /// Evaluates the rules now, on the calling thread; returns (and delivers) the level changes.
  std::vector<alert_event> evaluate_alerts();

  /**
   * @brief Checks the table's invariants (with verify_table: a pass over every slot, reading
   * without locks; exact when no writes are in flight, and a bucket is only reported when a
   * second read confirms it) and reports degraded states: the trainer failing, repeated
   * rollbacks, allocation failures, critical alerts. Never throws for a problem it finds and never
   * stops the cache. Thread-safe.
   */
  [[nodiscard]] health_report health(bool verify_table = true, stream_view stream = {}) const;

  /**
   * @brief Saves the contents (keys, values, scores, per-slot metadata, the learned policy's key
   * history, the logical clock) and, for policy::learned, the model registry into `path`,
   * crash-consistently (see belady/snapshot.hpp). Synchronizes `stream`. Reads do not block it,
   * but for a point-in-time image no writes may be in flight.
   * @throw snapshot_error naming the path and the failed step; an existing file at `path` stays
   */
  void save_snapshot(const std::filesystem::path& path, const snapshot_options& options = {},
                     stream_view stream = {}) const;

  /**
   * @brief Replaces the contents (and, when the snapshot has models, the registry's history and
   * active model) with a snapshot's. The whole file is read and checked first: a missing,
   * corrupt, truncated or mismatched snapshot (other key or value type, dim, capacity, bucket
   * size or policy) throws snapshot_error and the cache is unchanged. Not concurrent with other
   * operations on this cache. Metrics counters are not restored.
   */
  void load_snapshot(const std::filesystem::path& path, stream_view stream = {});

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// Whether this build contains the cuda backend.
[[nodiscard]] BELADY_API bool cuda_backend_built() noexcept;
/// Whether the cuda backend can run here (built, and a device answers).
[[nodiscard]] BELADY_API bool cuda_backend_available(int device = 0) noexcept;

extern template class BELADY_API cache<std::uint64_t, float>;
extern template class BELADY_API cache<std::uint64_t, half>;
extern template class BELADY_API cache<std::uint64_t, bfloat16>;
extern template class BELADY_API cache<std::uint64_t, std::int8_t>;
extern template class BELADY_API cache<std::uint64_t, std::byte>;
extern template class BELADY_API cache<std::uint32_t, float>;
extern template class BELADY_API cache<std::uint32_t, half>;
extern template class BELADY_API cache<std::uint32_t, bfloat16>;
extern template class BELADY_API cache<std::uint32_t, std::int8_t>;
extern template class BELADY_API cache<std::uint32_t, std::byte>;

}  // namespace belady
