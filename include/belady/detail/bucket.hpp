#pragma once
// Bucket-level primitives shared by every operation: locking, probing, victim choice.
#include <cstdint>

#include "belady/detail/atomic.hpp"
#include "belady/detail/hash.hpp"
#include "belady/detail/macros.hpp"
#include "belady/detail/table.hpp"
#include "belady/detail/tile.hpp"
#include "belady/types.hpp"

namespace belady::detail {

inline constexpr std::uint32_t no_slot = 0xffffffffu;

struct key_location {
  std::uint64_t hash;
  std::uint64_t bucket;
  std::uint64_t base;  ///< first slot of the bucket
  std::uint8_t digest;
};

template <class Key>
BELADY_HD BELADY_INLINE key_location locate(const table_view<Key>& tab, Key key) {
  const std::uint64_t h = mix64(static_cast<std::uint64_t>(key));
  const std::uint64_t b = bucket_of(h, tab.num_buckets);
  return {h, b, b * tab.bucket_slots, digest_of(h)};
}

/// Test-and-test-and-set spin lock; lane 0 of the tile takes it for the whole tile.
template <class Tile>
BELADY_HD BELADY_INLINE void lock_bucket(const Tile& t, std::uint32_t& lock) {
  if (t.rank() == 0) {
    atomic_ref<std::uint32_t> l(lock);
    for (std::uint32_t attempt = 0;; ++attempt) {
      if (l.load(mo::memory_order_relaxed) == 0) {
        std::uint32_t expected = 0;
        if (l.compare_exchange_weak(expected, 1u, mo::memory_order_acquire,
                                    mo::memory_order_relaxed))
          break;
      }
      spin_pause(attempt);
    }
  }
  t.sync();
}

template <class Tile>
BELADY_HD BELADY_INLINE void unlock_bucket(const Tile& t, std::uint32_t& lock) {
  t.sync();
  if (t.rank() == 0) atomic_ref<std::uint32_t>(lock).store(0u, mo::memory_order_release);
}

/// RAII form for host-style code paths; the device paths use the same functions.
template <class Tile>
class bucket_guard {
 public:
  BELADY_HD bucket_guard(const Tile& t, std::uint32_t& lock) : t_(t), lock_(lock) {
    lock_bucket(t_, lock_);
  }
  BELADY_HD ~bucket_guard() { unlock_bucket(t_, lock_); }
  bucket_guard(const bucket_guard&) = delete;
  bucket_guard& operator=(const bucket_guard&) = delete;

 private:
  const Tile& t_;
  std::uint32_t& lock_;
};

/// Slot (within the bucket) holding `key`, or no_slot. Caller holds the bucket lock.
template <class Tile, class Key>
BELADY_HD BELADY_INLINE std::uint32_t find_in_bucket(const Tile& t, const table_view<Key>& tab,
                                                     const key_location& loc, Key key) {
  for (std::uint32_t s0 = 0; s0 < tab.bucket_slots; s0 += Tile::size) {
    const std::uint32_t s = s0 + t.rank();
    const bool hit = s < tab.bucket_slots && tab.digests[loc.base + s] == loc.digest &&
                     tab.keys[loc.base + s] == key;
    const std::uint32_t mask = t.ballot(hit);
    if (mask != 0) return s0 + first_set(mask);
  }
  return no_slot;
}

/// Lowest-numbered free slot, or no_slot when the bucket is full. Caller holds the lock.
template <class Tile, class Key>
BELADY_HD BELADY_INLINE std::uint32_t free_slot_in_bucket(const Tile& t, const table_view<Key>& tab,
                                                          const key_location& loc) {
  for (std::uint32_t s0 = 0; s0 < tab.bucket_slots; s0 += Tile::size) {
    const std::uint32_t s = s0 + t.rank();
    const bool empty = s < tab.bucket_slots && tab.keys[loc.base + s] == empty_key<Key>;
    const std::uint32_t mask = t.ballot(empty);
    if (mask != 0) return s0 + first_set(mask);
  }
  return no_slot;
}

struct victim {
  std::uint64_t score;
  std::uint32_t slot;
};

/// The slot a full bucket gives up: the lowest score, ties to the lowest slot number (so every
/// executor and the reference model agree). Caller holds the lock.
template <class Tile, class Key>
BELADY_HD BELADY_INLINE victim choose_victim(const Tile& t, const table_view<Key>& tab,
                                             const key_location& loc) {
  victim best{0xffffffffffffffffULL, no_slot};
  for (std::uint32_t s = t.rank(); s < tab.bucket_slots; s += Tile::size) {
    const std::uint64_t sc = tab.scores[loc.base + s];
    if (best.slot == no_slot || sc < best.score) best = {sc, s};
  }
  for (std::uint32_t offset = Tile::size / 2; offset > 0; offset /= 2) {
    const std::uint64_t other_score = t.shfl_xor(best.score, offset);
    const std::uint32_t other_slot = t.shfl_xor(best.slot, offset);
    if (other_slot != no_slot &&
        (best.slot == no_slot || other_score < best.score ||
         (other_score == best.score && other_slot < best.slot)))
      best = {other_score, other_slot};
  }
  return best;
}

}  // namespace belady::detail
