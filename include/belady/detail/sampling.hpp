#pragma once
// Online learning's view of the request path: spatial sampling by key hash (every access of a
// sampled key is seen, so the gap to its next access is exact) and the bucket groups of the live
// A/B test. Host+device code; the owner drains the events (src/online).
#include <cstdint>

#include "belady/detail/atomic.hpp"
#include "belady/detail/hash.hpp"
#include "belady/detail/macros.hpp"
#include "belady/detail/table.hpp"

namespace belady::detail {

/// The hash that decides sampling: independent of the bucket and digest bits of the key's hash,
/// so the sampled keys spread over every bucket.
BELADY_HD BELADY_INLINE std::uint64_t sample_hash(std::uint64_t key_hash) {
  return mix64(key_hash ^ 0xA0761D6478BD642FULL);
}

/// Whether the bucket belongs to the candidate model's group of the live A/B test.
BELADY_HD BELADY_INLINE bool in_candidate_group(std::uint64_t bucket, std::uint64_t ab_threshold) {
  return ab_threshold != 0 && mix64(bucket ^ 0xE7037ED1A0B428DBULL) < ab_threshold;
}

/// Appends one event of a sampled key; a full log counts it as dropped. Lane 0 only.
template <class Key>
BELADY_HD BELADY_INLINE void log_sample(const table_view<Key>& tab, const sample_log<Key>& log, Key key,
                                        std::uint64_t key_hash, std::uint64_t bucket, std::uint64_t ab_threshold,
                                        std::uint64_t now, std::uint32_t kind) {
  if (log.capacity == 0 || sample_hash(key_hash) >= tab.sample_threshold) return;
  const unsigned long long pos = atomic_ref<unsigned long long>(*log.cursor).fetch_add(1, mo::memory_order_relaxed);
  if (pos >= log.capacity) {
    atomic_ref<unsigned long long>(*log.dropped).fetch_add(1, mo::memory_order_relaxed);
    return;
  }
  if (in_candidate_group(bucket, ab_threshold)) kind |= sample_group_b;
  log.keys[pos] = key;
  log.times[pos] = now;
  log.kinds[pos] = static_cast<std::uint8_t>(kind);
}

}  // namespace belady::detail
