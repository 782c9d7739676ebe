#pragma once
// The seam between the owner (cache<Key, T>) and an executor. One implementation template,
// backend_impl<Key, Exec>, serves both backends; this interface lets the owner pick one at run
// time without templates leaking into the public header.
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "belady/cache.hpp"
#include "belady/config.hpp"
#include "belady/detail/ops.hpp"
#include "belady/types.hpp"

namespace belady::detail {

struct table_shape {
  std::uint64_t num_buckets;
  std::uint32_t bucket_slots;
  std::size_t value_bytes;
  policy eviction;
  // policy::learned only
  std::uint64_t sketch_width = 0;  ///< power of two; 0 = no key history
  float decay_half_life = 1;
  std::uint32_t candidates = 1;
  bool admission = false;
  std::uint64_t sample_threshold = 0;  ///< online learning: see table_view::sample_threshold
};

template <class Key>
using candidate_batch = belady::eviction_candidates<Key>;

/// One sample log's memory, in the backend's memory space; freed with the object. Must not
/// outlive the backend that made it.
template <class Key>
struct sample_buffer {
  sample_log<Key> log;
  /// Batches that may still write it (see the owner's pin and drain): the drain reads the log
  /// only after an acquire load of 0, which the writers' release decrements make safe.
  std::atomic<std::uint64_t> writers{0};
  std::function<void(sample_log<Key>&)> release;
  sample_buffer() = default;
  sample_buffer(const sample_buffer&) = delete;
  sample_buffer& operator=(const sample_buffer&) = delete;
  ~sample_buffer() {
    if (release) release(log);
  }
};

/// Sampled access events copied to the host.
template <class Key>
struct sample_events {
  std::vector<Key> keys;
  std::vector<std::uint64_t> times;
  std::vector<std::uint8_t> kinds;  ///< sample_kind bits
  std::uint64_t dropped = 0;        ///< events that did not fit
  [[nodiscard]] std::size_t size() const { return keys.size(); }
};

/// What a verification pass over the table found (see backend::verify_table).
struct table_check {
  std::uint64_t keys = 0;
  std::uint64_t duplicates = 0;        ///< extra copies of a key within its bucket
  std::uint64_t misplaced = 0;         ///< keys outside their bucket or with a stale digest
  std::uint64_t count_mismatches = 0;  ///< buckets whose occupancy count differs from their keys
};

/// Whole slots in host memory, for snapshots: slot indices of the occupied ones and their contents.
template <class Key>
struct raw_slots {
  std::vector<std::uint64_t> slots;
  std::vector<Key> keys;
  std::vector<std::uint64_t> scores;
  std::vector<slot_meta> meta;
  std::vector<std::byte> values;  ///< value_bytes per slot
};

/// The learned policy's key history (frequency sketch and ghost filter), in host memory.
struct raw_history {
  std::vector<std::uint32_t> sketch;
  std::vector<std::uint32_t> ghost;
};

/// A word of host memory the kernels can write (mapped pinned memory on the cuda backend): `host`
/// is its address for the host, `device` for the kernels (the same on the host backend).
struct host_flag {
  std::uint32_t* host = nullptr;
  std::uint32_t* device = nullptr;
};

template <class Key>
class backend {
 public:
  virtual ~backend() = default;
  [[nodiscard]] virtual belady::backend kind() const = 0;

  /// Throws invalid_argument when `p` cannot be read by this backend's executor.
  virtual void check_accessible(const void* p, const char* name) const = 0;

  // Keyed batches. Their keys are checked on the stream first, and a batch with a reserved key
  // does nothing. sync: wait for the work and return its counts, the reserved keys in
  // outcome_counts::gate. !sync (an `_async` call): return at once with no counts; the reserved
  // keys are reported by take_rejected_async.
  virtual outcome_counts find(const batch<Key>& b, bool touch, stream_view s, bool sync) = 0;
  virtual outcome_counts write(const batch<Key>& b, write_mode mode, stream_view s, bool sync) = 0;
  virtual outcome_counts find_or_insert(const batch<Key>& b, stream_view s, bool sync) = 0;
  /// Returns counts; the number handed back is in the counts (evicted + refused).
  virtual outcome_counts insert_and_evict(batch<Key> b, stream_view s) = 0;
  virtual outcome_counts erase(const batch<Key>& b, stream_view s, bool sync) = 0;
  virtual void clear(stream_view s, bool sync) = 0;
  [[nodiscard]] virtual std::uint64_t size(stream_view s) = 0;
  /// Copies occupied slots of [first_slot, first_slot + count) into b.evicted_*; returns how many.
  virtual std::uint64_t export_slots(batch<Key> b, std::uint64_t first_slot, std::uint64_t count,
                                     stream_view s) = 0;
  /// Attaches a candidate log of `capacity` entries (0 detaches); not concurrent with operations.
  virtual void set_candidate_log(std::uint64_t capacity) = 0;
  /// Copies the logged candidates out and empties the log; not concurrent with operations.
  virtual candidate_batch<Key> take_candidate_log() = 0;
  /// A sample log of `capacity` events for online learning.
  virtual std::shared_ptr<sample_buffer<Key>> make_sample_buffer(std::uint64_t capacity) = 0;
  /// Appends the buffer's events to `out` and empties it. The buffer must be idle (no batch that
  /// may write it still running). Device work goes to the lowest-priority stream.
  virtual void drain_samples(sample_buffer<Key>& buffer, sample_events<Key>& out) = 0;
  /// Copies model parameters where this backend's kernels read them (host memory or device).
  virtual std::shared_ptr<const void> upload(const void* params, std::size_t bytes) = 0;
  /// Keeps `pinned` alive until the work queued so far on `s` has completed.
  virtual void retain_until_complete(std::shared_ptr<const void> pinned, stream_view s) = 0;
  /// Halves every frequency-sketch counter (TinyLFU ageing).
  virtual void age_sketch(stream_view s) = 0;

  /// Bytes this backend allocated (table, key history, logs) and where: device or host memory.
  [[nodiscard]] virtual std::uint64_t allocated_bytes() const = 0;

  /// Reads every slot without taking bucket locks and checks the table's invariants; a bucket
  /// that looks wrong is read again before it is reported (a write in flight can make a bucket
  /// look inconsistent for a moment). Exact when no writes are in flight.
  virtual table_check verify_table(stream_view s) = 0;

  /// Copies the occupied slots to the host (synchronizes). Not concurrent with writes.
  virtual raw_slots<Key> read_slots(stream_view s) = 0;
  /// Prepares replacing the whole table with `slots` (digests and occupancy recomputed): allocates
  /// what the copy needs and returns the step that performs it, which allocates nothing and
  /// throws only on a device error. `slots` must outlive the step and come from a table of the
  /// same shape. The step is not concurrent with other operations.
  virtual std::function<void()> prepare_write_slots(const raw_slots<Key>& slots, stream_view s) = 0;
  virtual raw_history read_history(stream_view s) = 0;
  /// Sizes must match the table's (empty vectors clear the history).
  virtual void write_history(const raw_history& h, stream_view s) = 0;

  virtual void synchronize(stream_view s) = 0;
  /// Reserved keys in `_async` batches (which did nothing) not yet reported: those whose check
  /// has run, on any stream. Each is reported once. Costs one load of host memory when there are
  /// none; otherwise reads the total on `s` (which the caller has just synchronized).
  virtual std::uint64_t take_rejected_async(stream_view s) = 0;
};

/// The host backend. With the environment variable BELADY_HOST_EMULATE_TILE=32 (tests only) it
/// runs every per-key operation as the cuda backend does, 32 lanes of a tile in lockstep
/// (src/host/lockstep_tile.hpp); invalid_argument for another value, backend_unavailable in a
/// sanitizer build.
template <class Key>
std::unique_ptr<backend<Key>> make_host_backend(const table_shape& shape, std::uint32_t threads);

/// Emulated tiles (above): per-key calls whose lanes returned different results, since the start
/// of the process. The device counts lane 0's; a difference means lanes disagreed on an outcome.
std::atomic<std::uint64_t>& lockstep_result_mismatches();
/// Emulated tiles: per-key calls served, since the start of the process (tests check that the
/// emulation was on).
std::atomic<std::uint64_t>& lockstep_keys_served();

/// Defined only when the cuda backend is built (BELADY_WITH_CUDA).
template <class Key>
std::unique_ptr<backend<Key>> make_cuda_backend(const table_shape& shape, int device);

/// True when the cuda backend is built and a usable device is present.
bool cuda_device_available(int device) noexcept;
/// Why the cuda backend cannot be used (empty if it can).
std::string cuda_unavailable_reason(int device);

}  // namespace belady::detail
