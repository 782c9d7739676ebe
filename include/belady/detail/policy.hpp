#pragma once
// Score functions of the classic policies: the only place a policy differs. Higher score = more
// worth keeping; a full bucket evicts its lowest score.
#include <cstdint>

#include "belady/config.hpp"
#include "belady/detail/macros.hpp"
#include "belady/detail/table.hpp"

namespace belady::detail {

inline constexpr int lfu_time_bits = 40;

/// LFU: count in the high 24 bits so frequency dominates; recency in the low 40 bits breaks ties
/// (of two keys seen equally often, the one seen longer ago goes first).
BELADY_HD BELADY_INLINE std::uint64_t lfu_score(std::uint32_t count, std::uint64_t now) {
  const std::uint64_t c = count < 0xffffffu ? count : 0xffffffu;
  return (c << lfu_time_bits) | (now & ((std::uint64_t{1} << lfu_time_bits) - 1));
}

/// Score of a key entering the cache at `now`; `supplied` is the caller's score (custom only).
BELADY_HD BELADY_INLINE std::uint64_t score_on_insert(policy p, std::uint64_t now,
                                                      std::uint64_t supplied) {
  switch (p) {
    case policy::lfu: return lfu_score(1, now);
    case policy::custom: return supplied;
    case policy::lru:
    case policy::fifo:
    default: return now;
  }
}

/// Score after an access (hit or assign) to a resident key whose metadata is already updated.
BELADY_HD BELADY_INLINE std::uint64_t score_on_access(policy p, std::uint64_t old_score,
                                                      const slot_meta& m, std::uint64_t now,
                                                      bool has_supplied, std::uint64_t supplied) {
  switch (p) {
    case policy::lru:
    case policy::learned: return now;  // learned scores at eviction time; LRU order meanwhile
    case policy::lfu: return lfu_score(m.access_count, now);
    case policy::custom: return has_supplied ? supplied : old_score;
    case policy::fifo:
    default: return old_score;
  }
}

BELADY_HD BELADY_INLINE void touch(slot_meta& m, std::uint64_t now) {
  const std::uint64_t gap = now - m.last_access;
  m.prev_gap = m.last_gap;
  m.last_gap = gap < no_gap ? static_cast<std::uint32_t>(gap) : no_gap - 1;
  m.last_access = now;
  if (m.access_count != 0xffffffffu) ++m.access_count;
}

}  // namespace belady::detail
