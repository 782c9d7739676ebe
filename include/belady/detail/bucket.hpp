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

/// Whether the digests of each bucket are whole aligned 8-byte words that no other bucket shares
/// (bucket_slots a multiple of 8; the default is 128). Only then are digests written a word at a
/// time and may the host read them without the lock (next_digest_match).
template <class Key>
BELADY_HD BELADY_INLINE bool digests_word_aligned(const table_view<Key>& tab) {
  return tab.bucket_slots % 8 == 0;
}

/// Sets the digest of `slot`; caller holds its bucket's lock. With word-aligned buckets the write
/// is a relaxed atomic read-modify-write of the slot's 8-byte word, so that a lock-free reader of
/// the word (the host's prefetch hint) is not a data race; the lock keeps other writers out of the
/// word. Otherwise a plain byte, which nothing reads without the lock.
template <class Key>
BELADY_HD BELADY_INLINE void set_digest(const table_view<Key>& tab, std::uint64_t slot, std::uint8_t digest) {
  if (!digests_word_aligned(tab)) {
    tab.digests[slot] = digest;
    return;
  }
  auto& word = reinterpret_cast<std::uint64_t*>(tab.digests)[slot / 8];
  // Byte k of a word is bits 8k..8k+7 on every target (x86-64, AArch64, CUDA: little-endian).
  const unsigned shift = static_cast<unsigned>(slot % 8) * 8;
  const std::uint64_t v = load_relaxed(word);
  store_relaxed(word, (v & ~(std::uint64_t{0xff} << shift)) | (std::uint64_t{digest} << shift));
}

/// The first slot at or after `from` in the key's bucket whose digest matches, read without the
/// lock, or no_slot: a hint for the host's prefetching, never an answer (a concurrent write may be
/// missed or half-seen). A resident key's slot matches; an absent key matches some slot by chance
/// with probability about 1 - (255/256)^bucket_slots (39 % at 128 slots). no_slot also where the
/// words are not separately owned (digests_word_aligned false): callers then prefetch as for an
/// absent key.
template <class Key>
BELADY_HD BELADY_INLINE std::uint32_t next_digest_match(const table_view<Key>& tab, const key_location& loc,
                                                        std::uint32_t from) {
  if (!digests_word_aligned(tab)) return no_slot;
  const std::uint64_t* words = reinterpret_cast<const std::uint64_t*>(tab.digests) + loc.base / 8;
  constexpr std::uint64_t low7 = 0x7f7f7f7f7f7f7f7full;
  const std::uint64_t pattern = 0x0101010101010101ull * loc.digest;
  for (std::uint32_t w = from / 8; w < tab.bucket_slots / 8; ++w) {
    const std::uint64_t x = load_relaxed(const_cast<std::uint64_t&>(words[w])) ^ pattern;
    // The high bit of each byte of x that is zero (the digest matches), exactly: no borrows.
    std::uint64_t zero = ~(((x & low7) + low7) | x | low7);
    if (w == from / 8) zero &= ~std::uint64_t{0} << (8 * (from % 8));
    if (zero != 0) return 8 * w + first_set64(zero) / 8;
  }
  return no_slot;
}

/// Slot holding `key`, probed without the bucket lock, or no_slot. Only where the bucket's digests
/// are whole words of its own (digests_word_aligned): digests and keys are read with relaxed
/// atomic loads, and every write of them (under the lock) is atomic too, so the probe races with
/// nothing. A miss is an answer: a key never moves between slots, so a scan that passes a
/// present key's slot sees it, and missing a key means it was absent at some instant of the scan
/// (being inserted or evicted). A hit is a hint: the caller takes the lock and checks the slot.
template <class Tile, class Key>
BELADY_HD BELADY_INLINE std::uint32_t find_in_bucket_unlocked(const Tile& t, const table_view<Key>& tab,
                                                              const key_location& loc, Key key) {
  const std::uint32_t words = tab.bucket_slots / 8;
  std::uint64_t* digest_words = reinterpret_cast<std::uint64_t*>(tab.digests) + loc.base / 8;
  const std::uint64_t pattern = 0x0101010101010101ull * loc.digest;
  for (std::uint32_t w0 = 0; w0 < words; w0 += Tile::size) {
    const std::uint32_t w = w0 + t.rank();
    std::uint32_t byte = 8;  // of the word, whose slot holds the key; 8: none
    if (w < words) {
      const std::uint64_t x = load_relaxed(digest_words[w]) ^ pattern;  // zero bytes: digest matches
      for (std::uint32_t k = 0; k < 8; ++k)
        if (((x >> (8 * k)) & 0xffu) == 0 && load_relaxed(tab.keys[loc.base + 8 * w + k]) == key) {
          byte = k;
          break;
        }
    }
    const std::uint32_t mask = t.ballot(byte != 8);
    if (mask != 0) {
      const std::uint32_t lane = first_set(mask);
      return 8 * (w0 + lane) + t.shfl(byte, lane);
    }
  }
  return no_slot;
}

/// Slot (within the bucket) holding `key`, or no_slot. Caller holds the bucket lock.
template <class Tile, class Key>
BELADY_HD BELADY_INLINE std::uint32_t find_in_bucket(const Tile& t, const table_view<Key>& tab,
                                                     const key_location& loc, Key key) {
  // A device tile's lanes take eight digests each, one aligned word: a 128-slot bucket in one
  // round of loads and one ballot instead of four rounds of a byte per lane. Under the lock plain
  // loads would do; the relaxed atomic ones cost the same on the host and are served by L2 on
  // the device, where a cold bucket's lines come from anyway.
  if constexpr (Tile::size > 1)
    if (digests_word_aligned(tab)) return find_in_bucket_unlocked(t, tab, loc, key);
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
