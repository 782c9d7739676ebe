#pragma once
// The table's storage as a trivially copyable view: what per-key code (on either backend) sees.
// No stability promise.
#include <cstddef>
#include <cstdint>

#include "belady/config.hpp"
#include "belady/detail/macros.hpp"

namespace belady::model {
struct model_params;
}

namespace belady::detail {

/// Raw inputs of policies and (later) learned features, kept per slot. Only read or written while
/// the slot's bucket lock is held.
struct alignas(64) slot_meta {
  std::uint64_t last_access;   ///< logical time of the last hit, insert or assign
  std::uint64_t insert_time;   ///< logical time the key entered the cache
  std::uint64_t last_write;    ///< logical time of the last value write
  std::uint32_t access_count;  ///< accesses since insertion, saturating
  std::uint32_t last_gap;      ///< the latest inter-access gap in logical time (no_gap: none yet)
  std::uint32_t prev_gap;      ///< the gap before that (no_gap: none)
  std::uint32_t write_index;   ///< batch position of the writer at last_write (repeat resolution)
  float decayed_count;         ///< accesses with exponential decay, as of last_access (learned only)
  std::uint32_t sketch_count;  ///< frequency-sketch estimate when the key entered the cache (learned only)
  std::uint32_t flags;         ///< slot_flag bits
  std::uint32_t pad;
  /// mix64(key): an eviction records its victim in the ghost filter from this line, which scoring
  /// has just read, instead of loading the victim's key (a cache miss per eviction on the host).
  std::uint64_t key_hash;
};
// One cache line, aligned (the tables are): an eviction's candidates cost one line each. At 56
// bytes most slots straddled two lines and the learned policy's strided candidates paid for both.
static_assert(sizeof(slot_meta) == 64);
/// The slot_meta size before key_hash (snapshots of that layout are still loaded).
inline constexpr std::uint32_t slot_meta_bytes_v1 = 56;

inline constexpr std::uint32_t no_gap = 0xffffffffu;
enum slot_flag : std::uint32_t {
  ghost_on_insert = 1u << 0,  ///< the key had been evicted recently when it was inserted
};

/// Eviction candidates seen by the learned policy, for training: features, key, time. Written
/// without blocking; entries that do not fit are counted in *dropped.
template <class Key>
struct candidate_log {
  float* features = nullptr;               ///< capacity x feature_count
  Key* keys = nullptr;
  std::uint64_t* times = nullptr;
  unsigned long long* cursor = nullptr;    ///< entries claimed so far
  unsigned long long* dropped = nullptr;
  std::uint64_t capacity = 0;
};

/// What a sampled access event was (sample_event::kind bits).
enum sample_kind : std::uint8_t {
  sample_hit = 1u << 0,      ///< the key was present
  sample_write = 1u << 1,    ///< an insert or assign (else a find)
  sample_group_b = 1u << 2,  ///< the key's bucket serves the candidate model (live A/B)
};

/// Access events of the sampled keys (online learning), appended by the per-key code without
/// blocking; events that do not fit are counted in *dropped. Drained by the owner.
template <class Key>
struct sample_log {
  Key* keys = nullptr;
  std::uint64_t* times = nullptr;
  std::uint8_t* kinds = nullptr;           ///< sample_kind bits
  unsigned long long* cursor = nullptr;    ///< events claimed so far
  unsigned long long* dropped = nullptr;
  std::uint64_t capacity = 0;
};

template <class Key>
struct table_view {
  Key* keys;                    ///< num_buckets * bucket_slots, empty_key when free
  std::uint8_t* digests;        ///< one byte of the key's hash per slot: a cheap first filter
  std::uint64_t* scores;        ///< eviction scores: the lowest-scored slot is evicted
  slot_meta* meta;
  std::byte* values;            ///< slot-major, value_bytes each
  std::uint32_t* locks;         ///< one spin lock per bucket
  std::uint32_t* bucket_sizes;  ///< occupied slots per bucket; atomic (read without the lock)
  std::uint64_t num_buckets;
  std::uint32_t bucket_slots;
  std::size_t value_bytes;
  policy eviction;
  // Learned policy only (null/zero otherwise): key history beside the table.
  std::uint32_t* sketch;        ///< count-min sketch, sketch_rows rows of sketch_width counters
  std::uint32_t* ghost;         ///< fingerprints of recently evicted keys, sketch_width entries
  std::uint64_t sketch_width;   ///< power of two
  float decay_half_life;        ///< of slot_meta::decayed_count, in logical ticks
  std::uint32_t candidates;     ///< slots scored per eviction (strided sample of the bucket)
  bool admission;               ///< refuse newcomers predicted to return later than every candidate
  candidate_log<Key> log;       ///< optional (capacity 0: off)
  /// Online learning: a key is sampled when its sample hash is below this (rate x 2^64); 0: off.
  std::uint64_t sample_threshold;

  [[nodiscard]] BELADY_HD std::uint64_t num_slots() const { return num_buckets * bucket_slots; }
  [[nodiscard]] BELADY_HD std::byte* value_at(std::uint64_t slot) const {
    return values + slot * value_bytes;
  }
};

/// What one per-key operation did; the executors count each flag over a batch.
enum outcome : std::uint32_t {
  found = 1u << 0,
  inserted = 1u << 1,
  assigned = 1u << 2,
  refused = 1u << 3,
  evicted = 1u << 4,
  erased = 1u << 5,
};
inline constexpr int outcome_kinds = 6;

struct outcome_counts {
  std::uint64_t count[outcome_kinds] = {};
  /// A gated launch's gate as read after it (backend_impl.hpp, gated): the batch's reserved
  /// keys; not 0 means the launch did nothing.
  std::uint64_t gate = 0;
  void add(std::uint32_t flags) {
    for (int k = 0; k < outcome_kinds; ++k) count[k] += (flags >> k) & 1u;
  }
  void merge(const outcome_counts& o) {
    for (int k = 0; k < outcome_kinds; ++k) count[k] += o.count[k];
  }
  [[nodiscard]] std::uint64_t of(outcome o) const {
    for (int k = 0; k < outcome_kinds; ++k)
      if (o == (1u << k)) return count[k];
    return 0;
  }
};

}  // namespace belady::detail
