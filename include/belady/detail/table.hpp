#pragma once
// The table's storage as a trivially copyable view: what per-key code (on either backend) sees.
// No stability promise.
#include <cstddef>
#include <cstdint>

#include "belady/config.hpp"
#include "belady/detail/macros.hpp"

namespace belady::detail {

/// Raw inputs of policies and (later) learned features, kept per slot. Only read or written while
/// the slot's bucket lock is held.
struct slot_meta {
  std::uint64_t last_access;   ///< logical time of the last hit, insert or assign
  std::uint64_t insert_time;   ///< logical time the key entered the cache
  std::uint64_t last_write;    ///< logical time of the last value write
  std::uint32_t access_count;  ///< accesses since insertion, saturating
  std::uint32_t last_gap;      ///< previous inter-access gap in logical time, saturating
  std::uint32_t write_index;   ///< batch position of the writer at last_write (repeat resolution)
  std::uint32_t reserved;
};
static_assert(sizeof(slot_meta) == 40);

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
