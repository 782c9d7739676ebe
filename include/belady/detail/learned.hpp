#pragma once
// The learned policy's per-key pieces: the key history beside the table (count-min frequency
// sketch, ghost filter of recent evictions), the per-access bookkeeping, and eviction by model.
// Scoring happens at eviction time (as LRB does): predicting once per access and storing
// now + prediction closed ~1 % of the LRU-OPT gap in our prototype, eviction-time scoring ~25 %.
#include <cstdint>

#include "belady/detail/atomic.hpp"
#include "belady/detail/bucket.hpp"
#include "belady/detail/hash.hpp"
#include "belady/detail/policy.hpp"
#include "belady/detail/table.hpp"
#include "belady/model/features.hpp"
#include "belady/model/model.hpp"

namespace belady::detail {

/// Whether the learned policy's per-key work applies. `Learned` is the compile-time half: the
/// per-key ops are instantiated once for policy::learned and once for the other policies
/// (ops.hpp), so the others' kernels do not carry the learned path's code and registers. The
/// helpers below default it to true, which leaves only the run-time check.
template <bool Learned, class Key>
BELADY_HD BELADY_INLINE bool learned_path(const table_view<Key>& tab) {
  return Learned && tab.eviction == policy::learned;
}

inline constexpr std::uint32_t sketch_rows = 4;
inline constexpr std::uint32_t sketch_max = 0xffffu;  // saturate: aging halves counters anyway

/// A blocked count-min sketch: the key's four counters (one per row) share one 64-byte block of
/// 16 counters, each row owning 4 of them, so an access costs one cache miss instead of four
/// (the layout Caffeine's frequency sketch uses). width counters per row, width/4 blocks.
BELADY_HD BELADY_INLINE std::uint64_t sketch_index(std::uint64_t hash, std::uint32_t row, std::uint64_t width) {
  const std::uint64_t h = mix64(hash + 0x9E3779B97F4A7C15ULL);
  const std::uint64_t block = (h >> 8) & (width / 4 - 1);
  return block * 16 + row * 4 + ((h >> (2 * row)) & 3u);
}

/// Starts loading the key's sketch block (one line) while the bucket is probed.
template <bool Learned = true, class Key>
BELADY_HD BELADY_INLINE void prefetch_sketch(const table_view<Key>& tab, std::uint64_t hash) {
  if (learned_path<Learned>(tab)) BELADY_PREFETCH(&tab.sketch[sketch_index(hash, 0, tab.sketch_width)]);
}

/// The same for the ghost filter's entry, which an insert reads.
template <bool Learned = true, class Key>
BELADY_HD BELADY_INLINE void prefetch_ghost(const table_view<Key>& tab, std::uint64_t hash);

/// Counts one access of the key and returns the new estimate (the minimum over rows).
template <class Key>
BELADY_HD BELADY_INLINE std::uint32_t sketch_increment(const table_view<Key>& tab, std::uint64_t hash) {
  std::uint32_t estimate = 0xffffffffu;
  for (std::uint32_t r = 0; r < sketch_rows; ++r) {
    std::uint32_t& c = tab.sketch[sketch_index(hash, r, tab.sketch_width)];
    std::uint32_t v = load_relaxed(c);
#if BELADY_ON_DEVICE
    if (v < sketch_max) v = atomic_ref<std::uint32_t>(c).fetch_add(1u, mo::memory_order_relaxed) + 1u;
#else
    // On the host a relaxed load and store, not a locked read-modify-write: four of those per
    // access cost more than the rest of a hit. Two threads incrementing one counter at the same
    // instant may count once; a frequency estimate tolerates that.
    if (v < sketch_max) store_relaxed(c, ++v);
#endif
    estimate = v < estimate ? v : estimate;
  }
  return estimate;
}

BELADY_HD BELADY_INLINE std::uint32_t ghost_fingerprint(std::uint64_t hash) {
  return static_cast<std::uint32_t>(hash >> 32) | 1u;  // never 0, the empty entry
}

template <class Key>
BELADY_HD BELADY_INLINE std::uint64_t ghost_index(const table_view<Key>& tab, std::uint64_t hash) {
  return mix64(hash ^ 0x5bd1e9955bd1e995ULL) & (tab.sketch_width - 1);
}

template <bool Learned, class Key>
BELADY_HD BELADY_INLINE void prefetch_ghost(const table_view<Key>& tab, std::uint64_t hash) {
  if (learned_path<Learned>(tab)) BELADY_PREFETCH(&tab.ghost[ghost_index(tab, hash)]);
}

/// Records an evicted key, given its hash (slot_meta::key_hash).
template <class Key>
BELADY_HD BELADY_INLINE void ghost_remember(const table_view<Key>& tab, std::uint64_t evicted_hash) {
  store_relaxed(tab.ghost[ghost_index(tab, evicted_hash)], ghost_fingerprint(evicted_hash));
}

template <class Key>
BELADY_HD BELADY_INLINE bool ghost_contains(const table_view<Key>& tab, std::uint64_t hash) {
  return load_relaxed(tab.ghost[ghost_index(tab, hash)]) == ghost_fingerprint(hash);
}

/// A hit or assign of a resident key: the metadata every policy keeps, plus the learned
/// policy's decayed counter. Caller holds the bucket lock.
///
/// The frequency sketch is not counted here: it counts inserts of an absent key (fresh_meta: the
/// fill of a miss, refused by admission or not), so slot_meta::sketch_count is the key's
/// popularity from before its current stay, and the stay's own accesses are in access_count and
/// decayed_count. Counting hits too cost a sketch line per hit (5 points of the insert_or_assign
/// throughput, whose assigns are hits) and changed no hit ratio beyond noise; counting a find's
/// miss as well as the insert that fills it cost a line per miss (a read-through cache counted
/// each miss twice) and changed no hit ratio beyond noise either (docs/benchmarks.md, "Learned
/// policy cost").
template <bool Learned = true, class Key>
BELADY_HD BELADY_INLINE void record_access(const table_view<Key>& tab, slot_meta& m, std::uint64_t now) {
  if (learned_path<Learned>(tab)) m.decayed_count = model::decayed_at(m, now, tab.decay_half_life) + 1.0f;
  touch(m, now);
}

/// Metadata of a key entering the cache.
template <bool Learned = true, class Key>
BELADY_HD BELADY_INLINE slot_meta fresh_meta(const table_view<Key>& tab, std::uint64_t hash, std::uint64_t now,
                                             std::uint32_t index) {
  slot_meta m{now, now, now, 1u, no_gap, no_gap, index, 1.0f, 0u, 0u, 0u, hash};
  if (learned_path<Learned>(tab)) {
    m.sketch_count = sketch_increment(tab, hash);
    if (ghost_contains(tab, hash)) m.flags |= ghost_on_insert;
  }
  return m;
}

/// Predictions of `params` for n candidate slots, exactly predict(slot_features(*metas[c], ctx))
/// each: the host backend's vectorised eviction scoring (src/host/candidate_scoring.cpp).
void score_candidates_host(const slot_meta* const* metas, std::uint32_t n, const model::eviction_context& ctx,
                           const model::model_params& params, float* y);

/// The candidates of an eviction in `bucket` at time `now` are K = tab.candidates slots
/// `stride` = bucket_slots / K apart, starting at a pseudo-random `offset` anywhere in the bucket
/// and wrapping around its end. Every slot is a candidate with the same probability K /
/// bucket_slots, also when the bucket size is not a multiple of K (an offset below the stride
/// alone would never reach the last bucket_slots mod K slots: with 125-slot buckets and 16
/// candidates, 13 slots per bucket were never evicted, 10 % of the cache).
template <class Key>
BELADY_HD BELADY_INLINE std::uint32_t candidate_offset(const table_view<Key>& tab, std::uint64_t bucket, std::uint64_t now) {
  // Multiply-shift range reduction of 32 hashed bits: no division.
  const std::uint64_t h32 = mix64(now ^ bucket) & 0xffffffffu;
  return static_cast<std::uint32_t>((h32 * tab.bucket_slots) >> 32);
}

/// Slot (within its bucket) of candidate c: offset + c * stride, wrapped. offset < bucket_slots
/// and c * stride < bucket_slots, so one subtraction wraps it, and the K slots are distinct.
BELADY_HD BELADY_INLINE std::uint32_t candidate_slot(std::uint32_t offset, std::uint32_t c, std::uint32_t stride,
                                                     std::uint32_t bucket_slots) {
  const std::uint32_t s = offset + c * stride;
  return s >= bucket_slots ? s - bucket_slots : s;
}

/// Host executors, a few keys ahead of an insert: when the key's bucket is full (its fill count
/// was prefetched earlier), start loading the metadata lines the eviction will score.
template <class Key>
BELADY_HD BELADY_INLINE void prefetch_candidates(const table_view<Key>& tab, std::uint64_t bucket, std::uint64_t now) {
  if (tab.eviction != policy::learned || load_relaxed(tab.bucket_sizes[bucket]) < tab.bucket_slots) return;
  const std::uint32_t stride = tab.bucket_slots / tab.candidates;
  const std::uint32_t offset = candidate_offset(tab, bucket, now);
  const detail::slot_meta* base = &tab.meta[bucket * tab.bucket_slots];
  // At most 32 lines: more would crowd out the lines of the keys being served (the eviction
  // prefetches any further candidates itself, chunk by chunk).
  for (std::uint32_t c = 0; c < tab.candidates && c < 32; ++c)
    BELADY_PREFETCH(base + candidate_slot(offset, c, stride, tab.bucket_slots));
}

struct learned_victim {
  float predicted;     ///< log2(1 + predicted ticks to next request)
  std::uint32_t slot;
};

/// The candidate predicted to be requested furthest in the future (ties: lowest slot, on both
/// backends). The candidates are a strided sample of the bucket whose offset moves with time, so
/// every slot is considered over successive evictions (candidate_offset). Caller holds the lock;
/// the bucket is full.
template <class Tile, class Key>
BELADY_HD BELADY_INLINE learned_victim choose_victim_learned(const Tile& t, const table_view<Key>& tab,
                                                             const key_location& loc,
                                                             const model::model_params& params,
                                                             std::uint64_t now) {
  const std::uint32_t k = tab.candidates;
  const std::uint32_t stride = tab.bucket_slots / k;
  const std::uint32_t offset = candidate_offset(tab, loc.bucket, now);
  const model::eviction_context ctx{now, 1.0f, tab.decay_half_life};
  learned_victim best{-1e30f, no_slot};
  if constexpr (Tile::size == 1) {
    // Host: a chunk's metadata prefetched first (16 strided slots are 16 cache misses, serialised
    // otherwise), then scored eight to a vector (src/host/candidate_scoring.cpp).
    constexpr std::uint32_t chunk = 64;
    for (std::uint32_t c0 = 0; c0 < k; c0 += chunk) {
      const std::uint32_t n = k - c0 < chunk ? k - c0 : chunk;
      const detail::slot_meta* metas[chunk];
      std::uint32_t slots[chunk];
      for (std::uint32_t c = 0; c < n; ++c) {
        slots[c] = candidate_slot(offset, c0 + c, stride, tab.bucket_slots);
        metas[c] = &tab.meta[loc.base + slots[c]];
        BELADY_PREFETCH(metas[c]);
      }
      float y[chunk];
      score_candidates_host(metas, n, ctx, params, y);
      for (std::uint32_t c = 0; c < n; ++c) {
        const float yc = y[c] == y[c] ? y[c] : -3.0e38f;  // NaN never wins, as below
        if (best.slot == no_slot || yc > best.predicted || (yc == best.predicted && slots[c] < best.slot))
          best = {yc, slots[c]};
      }
    }
    return best;
  }
  for (std::uint32_t c = t.rank(); c < k; c += Tile::size) {
    const std::uint32_t s = candidate_slot(offset, c, stride, tab.bucket_slots);
    float f[model::feature_count];
    model::slot_features(tab.meta[loc.base + s], ctx, f);
    float y = model::predict(params, f);
    if (!(y == y)) y = -3.0e38f;  // NaN never wins: keeps the order total, so all lanes agree
    if (best.slot == no_slot || y > best.predicted || (y == best.predicted && s < best.slot)) best = {y, s};
  }
  for (std::uint32_t off = Tile::size / 2; off > 0; off /= 2) {
    const float other_y = t.shfl_xor(best.predicted, off);
    const std::uint32_t other_slot = t.shfl_xor(best.slot, off);
    if (other_slot != no_slot &&
        (best.slot == no_slot || other_y > best.predicted || (other_y == best.predicted && other_slot < best.slot)))
      best = {other_y, other_slot};
  }
  // Tile-uniform by construction: every lane continues with lane 0's answer.
  best.slot = t.shfl(best.slot, 0);
  best.predicted = t.shfl(best.predicted, 0);
  return best;
}

/// Appends candidate slot `s` (features as of `now`) to the training log, if one is attached.
template <class Key>
BELADY_HD BELADY_INLINE void log_candidate(const table_view<Key>& tab, const key_location& loc, std::uint32_t s,
                                           std::uint64_t now) {
  const candidate_log<Key>& log = tab.log;
  if (log.capacity == 0) return;
  const unsigned long long pos = atomic_ref<unsigned long long>(*log.cursor).fetch_add(1, mo::memory_order_relaxed);
  if (pos >= log.capacity) {
    atomic_ref<unsigned long long>(*log.dropped).fetch_add(1, mo::memory_order_relaxed);
    return;
  }
  const model::eviction_context ctx{now, 1.0f, tab.decay_half_life};
  model::slot_features(tab.meta[loc.base + s], ctx, log.features + pos * model::feature_count);
  log.keys[pos] = tab.keys[loc.base + s];
  log.times[pos] = now;
}

/// Logs the victim and one other candidate of an eviction (DESIGN: train on 1-2 actual
/// eviction candidates per eviction). Lane 0 only.
template <class Key>
BELADY_HD BELADY_INLINE void log_eviction(const table_view<Key>& tab, const key_location& loc, std::uint32_t victim,
                                          std::uint64_t now) {
  if (tab.log.capacity == 0) return;
  log_candidate(tab, loc, victim, now);
  const std::uint32_t other = static_cast<std::uint32_t>(mix64(now * 31 + loc.bucket) % tab.bucket_slots);
  if (other != victim) log_candidate(tab, loc, other, now);
}

/// The model's prediction for a newcomer (for admission control).
template <class Key>
BELADY_HD BELADY_INLINE float predict_newcomer(const table_view<Key>& tab, const slot_meta& fresh,
                                               const model::model_params& params, std::uint64_t now) {
  float f[model::feature_count];
  const model::eviction_context ctx{now, 1.0f, tab.decay_half_life};
  model::slot_features(fresh, ctx, f);
  const float y = model::predict(params, f);
  return y == y ? y : -3.0e38f;  // a NaN newcomer is never refused for it
}

}  // namespace belady::detail
