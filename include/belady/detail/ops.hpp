#pragma once
// The per-key operations, written once against the tile interface. Each functor handles key i of
// a batch and returns outcome flags; an executor (host thread pool or CUDA kernel) runs it over
// the batch. No stability promise.
#include <cstddef>
#include <cstdint>

#include "belady/detail/atomic.hpp"
#include "belady/detail/bucket.hpp"
#include "belady/detail/learned.hpp"
#include "belady/detail/macros.hpp"
#include "belady/detail/policy.hpp"
#include "belady/detail/sampling.hpp"
#include "belady/detail/table.hpp"

namespace belady::detail {

/// One batched call's buffers (host or device pointers, per backend). Unused ones are null.
template <class Key>
struct batch {
  const Key* keys = nullptr;
  std::size_t n = 0;
  const std::byte* in_values = nullptr;
  std::byte* out_values = nullptr;
  bool* found = nullptr;
  const std::uint64_t* in_scores = nullptr;
  std::uint64_t* out_scores = nullptr;
  Key* evicted_keys = nullptr;
  std::byte* evicted_values = nullptr;
  std::uint64_t* evicted_scores = nullptr;
  unsigned long long* counter = nullptr;  ///< output cursor (evictions, export, size)
  std::uint64_t now = 0;                  ///< the batch's logical time
  const model::model_params* model = nullptr;  ///< learned policy: the model pinned for this batch
  /// Live A/B (online learning): buckets whose group hash is below ab_threshold evict with
  /// `candidate` instead of `model`; null/0: none.
  const model::model_params* candidate = nullptr;
  std::uint64_t ab_threshold = 0;
  sample_log<Key> samples;  ///< where sampled keys' events go (capacity 0: nowhere)
};

/// How a write treats a key that is already present, and a key repeated within the batch.
enum class write_mode : std::uint8_t {
  insert_or_assign,  ///< insert or overwrite; of repeats the last occurrence wins
  assign_only,       ///< overwrite only if present; of repeats the last occurrence wins
  insert_if_absent,  ///< insert only if absent; of repeats the first occurrence wins
};

/// Reserved keys are rejected by validation; the kernels skip them too, so that a batch that
/// skipped validation still cannot corrupt the table.
template <class Key>
BELADY_HD BELADY_INLINE bool is_reserved(Key key) {
  return key >= reclaim_key<Key>;
}

/// Host executors call this a few keys ahead of the key they serve (`prefetch(i)` on an op): the
/// lines a probe of `key` reads first (its bucket's lock and digests; for writes, the bucket's
/// fill count) start loading while earlier keys are served, so one thread keeps several keys'
/// misses in flight instead of one at a time. The ops' prefetch_late and prefetch_last follow
/// (prefetch_digest_matches). On the device other warps hide that latency; the prefetches compile
/// to nothing there.
template <class Key>
BELADY_HD BELADY_INLINE void prefetch_probe(const table_view<Key>& tab, Key key, bool write) {
  if (is_reserved(key)) return;
  const key_location loc = locate(tab, key);
  BELADY_PREFETCH(&tab.locks[loc.bucket]);
  // The digests of a default bucket (128 slots) are two lines; larger buckets get their first two.
  BELADY_PREFETCH(&tab.digests[loc.base]);
  if (tab.bucket_slots > 64) BELADY_PREFETCH(&tab.digests[loc.base + 64]);
  if (write) BELADY_PREFETCH(&tab.bucket_sizes[loc.bucket]);
}

template <class Tile, class Key>
BELADY_HD BELADY_INLINE void emit_evicted(const Tile& t, const table_view<Key>& tab,
                                          const batch<Key>& b, Key key, const std::byte* value,
                                          std::uint64_t score) {
  if (b.evicted_keys == nullptr) return;
  unsigned long long pos = 0;
  if (t.rank() == 0) pos = atomic_ref<unsigned long long>(*b.counter).fetch_add(1, mo::memory_order_relaxed);
  pos = t.shfl(pos, 0);
  if (t.rank() == 0) {
    b.evicted_keys[pos] = key;
    if (b.evicted_scores != nullptr) b.evicted_scores[pos] = score;
  }
  if (b.evicted_values != nullptr) t.copy(b.evicted_values + pos * tab.value_bytes, value, tab.value_bytes);
  t.sync();  // callers overwrite `value` next, possibly split differently across lanes
}

/// The resident in `slot` as evicted. Its key and score are read only when the caller asked for
/// the evicted: under the learned policy neither line has been loaded by the eviction, and each
/// is a cache miss on the host.
template <class Tile, class Key>
BELADY_HD BELADY_INLINE void emit_evicted_slot(const Tile& t, const table_view<Key>& tab, const batch<Key>& b,
                                               std::uint64_t slot) {
  if (b.evicted_keys == nullptr) return;
  emit_evicted(t, tab, b, tab.keys[slot], tab.value_at(slot), tab.scores[slot]);
}

/// Host prefetching of a probe in stages (the host executor calls them at decreasing distances
/// ahead of the key it serves; the device has other warps to hide latency): the digests first
/// (prefetch_probe), then the keys of the slots whose digest matches (prefetch_digest_matches),
/// then, once those keys have arrived, the lines the hit will touch (present_slot_hint). Each
/// stage fetches only what the previous one showed is needed: a table is bound by how many of
/// its cache misses are in flight, so a line fetched for nothing delays the others.
///
/// Whether a slot's digest matches; if so, starts loading the keys of the first two matching
/// slots (the key's own slot may follow one that matches by chance).
template <class Key>
BELADY_HD BELADY_INLINE bool prefetch_digest_matches(const table_view<Key>& tab, const key_location& loc) {
  const std::uint32_t s1 = next_digest_match(tab, loc, 0);
  if (s1 == no_slot) return false;
  BELADY_PREFETCH(&tab.keys[loc.base + s1]);
  const std::uint32_t s2 = next_digest_match(tab, loc, s1 + 1);
  if (s2 != no_slot) BELADY_PREFETCH(&tab.keys[loc.base + s2]);
  return true;
}

/// The second stage for ops that read a present key only (find, erase): an absent key needs no
/// further line.
template <class Key>
BELADY_HD BELADY_INLINE void prefetch_matching_keys(const table_view<Key>& tab, Key key) {
  if (!is_reserved(key)) (void)prefetch_digest_matches(tab, locate(tab, key));
}

/// What the last stage learns without the lock: whether any digest matched (if none, the earlier
/// stage already prefetched for an absent key), and the slot (of the table) of the first two
/// matches that holds `key`, or no_slot. A hint, never an answer.
struct slot_hint {
  bool matched;
  std::uint64_t slot;
};
template <class Key>
BELADY_HD BELADY_INLINE slot_hint present_slot_hint(const table_view<Key>& tab, const key_location& loc, Key key) {
  std::uint32_t s = next_digest_match(tab, loc, 0);
  const bool matched = s != no_slot;
  for (int tries = 0; tries < 2 && s != no_slot; ++tries, s = next_digest_match(tab, loc, s + 1))
    if (load_relaxed(tab.keys[loc.base + s]) == key) return {true, loc.base + s};
  return {matched, no_slot};
}

/// Starts loading the lines an access of `slot` touches: metadata and score, and the value.
template <class Key>
BELADY_HD BELADY_INLINE void prefetch_slot(const table_view<Key>& tab, std::uint64_t slot, bool meta, bool value) {
  if (meta) {
    BELADY_PREFETCH(&tab.meta[slot]);
    BELADY_PREFETCH(&tab.scores[slot]);
  }
  if (value) {
    const std::byte* v = tab.value_at(slot);
    for (std::size_t off = 0; off < tab.value_bytes; off += 64) BELADY_PREFETCH(v + off);
  }
}

/// `Learned`: this instantiation serves policy::learned (and only it); the other policies'
/// instantiation leaves out the learned policy's key history and sampling (learned_path).
template <class Key, bool Learned>
struct find_op {
  table_view<Key> tab;
  batch<Key> b;
  bool touch_meta;  ///< find counts as an access; contains does not

  BELADY_HD void prefetch(std::size_t i) const { prefetch_probe(tab, b.keys[i], false); }
  /// The later prefetch stages (prefetch_digest_matches): the keys of matching slots, then a
  /// hit's lines. A miss touches nothing beyond the probe, under every policy.
  BELADY_HD void prefetch_late(std::size_t i) const { prefetch_matching_keys(tab, b.keys[i]); }
  BELADY_HD void prefetch_last(std::size_t i) const {
    const Key key = b.keys[i];
    if (is_reserved(key)) return;
    const slot_hint h = present_slot_hint(tab, locate(tab, key), key);
    if (h.slot != no_slot)
      prefetch_slot(tab, h.slot, touch_meta || b.out_scores != nullptr, b.out_values != nullptr);
  }

  template <class Tile>
  BELADY_HD std::uint32_t operator()(const Tile& t, std::size_t i) const {
    const Key key = b.keys[i];
    if (is_reserved(key)) {
      if (t.rank() == 0 && b.found != nullptr) b.found[i] = false;
      return 0;
    }
    const key_location loc = locate(tab, key);
    std::uint32_t flags = 0;
    // A miss, and a contains' hit, need no lock (find_in_bucket_unlocked); a find's hit reads the
    // value and updates the slot, under the lock, after checking the slot still holds the key.
    std::uint32_t s = no_slot;
    bool locked = false;
    if (digests_word_aligned(tab)) {
      s = find_in_bucket_unlocked(t, tab, loc, key);
      if (s != no_slot && (touch_meta || b.out_values != nullptr || b.out_scores != nullptr)) {
        lock_bucket(t, tab.locks[loc.bucket]);
        locked = true;
        if (tab.keys[loc.base + s] != key) s = find_in_bucket(t, tab, loc, key);  // it moved on
      }
    } else {
      lock_bucket(t, tab.locks[loc.bucket]);
      locked = true;
      s = find_in_bucket(t, tab, loc, key);
    }
    if (s != no_slot && locked) {
      const std::uint64_t slot = loc.base + s;
      if (b.out_values != nullptr) t.copy(b.out_values + i * tab.value_bytes, tab.value_at(slot), tab.value_bytes);
      t.sync();
      if (t.rank() == 0) {
        if (touch_meta) {
          slot_meta& m = tab.meta[slot];
          record_access<Learned>(tab, m, b.now);
          tab.scores[slot] = score_on_access(tab.eviction, tab.scores[slot], m, b.now, false, 0);
        }
        if (b.out_scores != nullptr) b.out_scores[i] = tab.scores[slot];
      }
      flags = outcome::found;
    } else if (s != no_slot) {
      flags = outcome::found;  // contains: the unlocked probe's hit is the answer
    }
    // A miss is not counted in the learned policy's frequency sketch here: the insert that fills
    // it counts it (fresh_meta), refused or not (docs/learned-policy.md, "Key history").
    if (t.rank() == 0 && b.found != nullptr) b.found[i] = (s != no_slot);
    if (locked) unlock_bucket(t, tab.locks[loc.bucket]);
    if (Learned && touch_meta && t.rank() == 0 && b.samples.capacity != 0)
      log_sample(tab, b.samples, key, loc.hash, loc.bucket, b.ab_threshold, b.now, s != no_slot ? std::uint32_t{sample_hit} : 0u);
    return flags;
  }
};

/// `Learned` as for find_op: on sm_90 the learned path takes write_op from 64 to 168 registers
/// (scripts/kernel_resources.py).
template <class Key, bool Learned>
struct write_op {
  table_view<Key> tab;
  batch<Key> b;
  write_mode mode;

  BELADY_HD void prefetch(std::size_t i) const {
    prefetch_probe(tab, b.keys[i], mode != write_mode::assign_only);
  }
  /// The later prefetch stages (prefetch_digest_matches): the keys of matching slots, or with
  /// none (the key is absent) what its insert reads under the learned policy: its sketch and
  /// ghost lines and the eviction's candidates. Then a present key's lines, or an insert's where
  /// a digest matched by chance (about 39 % of absent keys at 128 slots).
  BELADY_HD void prefetch_late(std::size_t i) const {
    const Key key = b.keys[i];
    if (is_reserved(key)) return;
    const key_location loc = locate(tab, key);
    if (!prefetch_digest_matches(tab, loc)) prefetch_insert(loc);
  }
  BELADY_HD void prefetch_last(std::size_t i) const {
    const Key key = b.keys[i];
    if (is_reserved(key)) return;
    const key_location loc = locate(tab, key);
    const slot_hint h = present_slot_hint(tab, loc, key);
    if (!h.matched) return;  // prefetch_late took the insert's lines
    if (h.slot != no_slot)  // insert_if_absent reads a present key's value for find_or_insert (out_values)
      prefetch_slot(tab, h.slot, true, mode != write_mode::insert_if_absent || b.out_values != nullptr);
    else
      prefetch_insert(loc);
  }
  BELADY_HD void prefetch_insert(const key_location& loc) const {
    if (!learned_path<Learned>(tab) || mode == write_mode::assign_only) return;
    prefetch_sketch<Learned>(tab, loc.hash);
    prefetch_ghost<Learned>(tab, loc.hash);
    prefetch_candidates(tab, loc.bucket, b.now);
  }

  template <class Tile>
  BELADY_HD std::uint32_t operator()(const Tile& t, std::size_t i) const {
    const Key key = b.keys[i];
    if (is_reserved(key)) {
      if (t.rank() == 0 && b.found != nullptr) b.found[i] = false;
      return 0;
    }
    const key_location loc = locate(tab, key);
    const std::uint32_t index = static_cast<std::uint32_t>(i);
    const std::byte* in = b.in_values + i * tab.value_bytes;
    const bool has_score = b.in_scores != nullptr;
    const std::uint64_t supplied = has_score ? b.in_scores[i] : 0;
    std::uint32_t flags = 0;

    lock_bucket(t, tab.locks[loc.bucket]);
    std::uint32_t s = find_in_bucket(t, tab, loc, key);
    if (s != no_slot) {
      const std::uint64_t slot = loc.base + s;
      slot_meta& m = tab.meta[slot];
      const bool written_this_batch = m.last_write == b.now;
      if (mode == write_mode::insert_if_absent) {
        // Present. If another occurrence of this batch inserted it, the earliest one's value is
        // the one a sequential execution would have stored.
        const bool inserted_this_batch = m.insert_time == b.now && written_this_batch;
        if (inserted_this_batch && m.write_index > index) {
          t.copy(tab.value_at(slot), in, tab.value_bytes);
          t.sync();
          if (t.rank() == 0) m.write_index = index;
        } else if (!inserted_this_batch) {
          // Resident before this batch: a plain hit, settled here (read_back_op skips it).
          if (b.out_values != nullptr) t.copy(b.out_values + i * tab.value_bytes, tab.value_at(slot), tab.value_bytes);
          t.sync();
          if (t.rank() == 0) {
            record_access<Learned>(tab, m, b.now);
            tab.scores[slot] = score_on_access(tab.eviction, tab.scores[slot], m, b.now, false, 0);
            if (b.out_scores != nullptr) b.out_scores[i] = tab.scores[slot];
          }
          flags = outcome::found;
        }
      } else if (!(written_this_batch && m.write_index > index)) {
        // A later occurrence of the same key in this batch already wrote: it wins.
        t.copy(tab.value_at(slot), in, tab.value_bytes);
        t.sync();
        if (t.rank() == 0) {
          record_access<Learned>(tab, m, b.now);
          m.last_write = b.now;
          m.write_index = index;
          tab.scores[slot] = score_on_access(tab.eviction, tab.scores[slot], m, b.now, has_score, supplied);
        }
        flags = outcome::assigned;
      } else {
        flags = outcome::assigned;
      }
    } else if (mode != write_mode::assign_only) {
      const std::uint64_t new_score = score_on_insert(tab.eviction, b.now, supplied);
      const bool full = load_relaxed(tab.bucket_sizes[loc.bucket]) >= tab.bucket_slots;
      slot_meta fresh{};
      if (t.rank() == 0) fresh = fresh_meta<Learned>(tab, loc.hash, b.now, index);
      if (!full) {
        s = free_slot_in_bucket(t, tab, loc);
      } else {
        victim v{0, no_slot};
        bool refuse = false;
        const model::model_params* params = nullptr;
        if constexpr (Learned)
          params = b.candidate != nullptr && in_candidate_group(loc.bucket, b.ab_threshold) ? b.candidate : b.model;
        if (learned_path<Learned>(tab) && params != nullptr) {
          const learned_victim lv = choose_victim_learned(t, tab, loc, *params, b.now);
          v = {0, lv.slot};  // the score is not needed to choose (and its line would be one more miss)
          if (tab.admission) {
            float y = 0;
            if (t.rank() == 0) y = predict_newcomer(tab, fresh, *params, b.now);
            refuse = t.shfl(y, 0) > lv.predicted;
          }
        } else {
          v = choose_victim(t, tab, loc);
          refuse = new_score < v.score;
        }
        if (t.rank() == 0 && learned_path<Learned>(tab)) log_eviction(tab, loc, v.slot, b.now);
        if (refuse) {
          // Admission refused: the newcomer is worth less than every resident. Hand it back
          // with the evicted so a caller writing them to a lower tier loses nothing.
          emit_evicted(t, tab, b, key, in, new_score);
          flags = outcome::refused;
        } else {
          s = v.slot;
          const std::uint64_t slot = loc.base + s;
          emit_evicted_slot(t, tab, b, slot);
          if (t.rank() == 0 && learned_path<Learned>(tab)) ghost_remember(tab, tab.meta[slot].key_hash);
          flags = outcome::evicted;
        }
      }
      if (s != no_slot) {
        const std::uint64_t slot = loc.base + s;
        t.copy(tab.value_at(slot), in, tab.value_bytes);
        t.sync();
        if (t.rank() == 0) {
          store_relaxed(tab.keys[slot], key);  // atomic: probes without the lock read it
          set_digest(tab, slot, loc.digest);
          tab.scores[slot] = new_score;
          tab.meta[slot] = fresh;
          if (!full) store_relaxed(tab.bucket_sizes[loc.bucket], load_relaxed(tab.bucket_sizes[loc.bucket]) + 1);
        }
        flags |= outcome::inserted;
      }
    }
    if (t.rank() == 0 && b.found != nullptr) b.found[i] = (flags & outcome::found) != 0;
    unlock_bucket(t, tab.locks[loc.bucket]);
    if (Learned && t.rank() == 0 && b.samples.capacity != 0) {
      // find_or_insert is a request (hit, or miss and fill); the other modes are writes.
      const std::uint32_t kind = (mode == write_mode::insert_if_absent ? 0u : std::uint32_t{sample_write}) |
                                 ((flags & (outcome::found | outcome::assigned)) != 0 ? std::uint32_t{sample_hit} : 0u);
      log_sample(tab, b.samples, key, loc.hash, loc.bucket, b.ab_threshold, b.now, kind);
    }
    return flags;
  }
};

/// Second pass of find_or_insert for the keys the first pass did not settle (inserted in this
/// batch, or refused): read back the stored value so every occurrence of a repeated key returns
/// the same value, and report found only for occurrences after the inserting one. An occurrence
/// before the inserting one (refused, or whose own copy was evicted before a later occurrence
/// inserted the key again) did not find the key in loop order: it keeps its input, not found.
template <class Key>
struct read_back_op {
  table_view<Key> tab;
  batch<Key> b;

  template <class Tile>
  BELADY_HD std::uint32_t operator()(const Tile& t, std::size_t i) const {
    if (b.found[i]) return outcome::found;  // settled by the first pass
    const Key key = b.keys[i];
    if (is_reserved(key)) return 0;
    const key_location loc = locate(tab, key);
    std::uint32_t flags = 0;
    lock_bucket(t, tab.locks[loc.bucket]);
    const std::uint32_t s = find_in_bucket(t, tab, loc, key);
    const std::byte* src = b.in_values + i * tab.value_bytes;
    const slot_meta* m = s != no_slot ? &tab.meta[loc.base + s] : nullptr;
    const bool inserted_this_batch = m != nullptr && m->insert_time == b.now;
    const std::uint32_t index = static_cast<std::uint32_t>(i);
    if (m != nullptr && !(inserted_this_batch && m->write_index > index)) {
      const std::uint64_t slot = loc.base + s;
      src = tab.value_at(slot);
      const bool mine = inserted_this_batch && m->write_index == index;
      if (!mine) flags = outcome::found;
      if (t.rank() == 0 && b.out_scores != nullptr) b.out_scores[i] = tab.scores[slot];
    }
    t.copy(b.out_values + i * tab.value_bytes, src, tab.value_bytes);
    t.sync();
    if (t.rank() == 0) b.found[i] = flags != 0;
    unlock_bucket(t, tab.locks[loc.bucket]);
    return flags;
  }
};

template <class Key>
struct erase_op {
  table_view<Key> tab;
  batch<Key> b;

  BELADY_HD void prefetch(std::size_t i) const { prefetch_probe(tab, b.keys[i], false); }
  BELADY_HD void prefetch_late(std::size_t i) const { prefetch_matching_keys(tab, b.keys[i]); }

  template <class Tile>
  BELADY_HD std::uint32_t operator()(const Tile& t, std::size_t i) const {
    const Key key = b.keys[i];
    if (is_reserved(key)) return 0;
    const key_location loc = locate(tab, key);
    lock_bucket(t, tab.locks[loc.bucket]);
    const std::uint32_t s = find_in_bucket(t, tab, loc, key);
    if (s != no_slot && t.rank() == 0) {
      const std::uint64_t slot = loc.base + s;
      store_relaxed(tab.keys[slot], empty_key<Key>);
      set_digest(tab, slot, std::uint8_t{0});
      store_relaxed(tab.bucket_sizes[loc.bucket], load_relaxed(tab.bucket_sizes[loc.bucket]) - 1);
    }
    unlock_bucket(t, tab.locks[loc.bucket]);
    return s != no_slot ? outcome::erased : 0u;
  }
};

/// Per bucket: empty it.
template <class Key>
struct clear_bucket_op {
  table_view<Key> tab;

  template <class Tile>
  BELADY_HD std::uint32_t operator()(const Tile& t, std::size_t bucket) const {
    lock_bucket(t, tab.locks[bucket]);
    const std::uint64_t base = bucket * tab.bucket_slots;
    for (std::uint32_t s = t.rank(); s < tab.bucket_slots; s += Tile::size) {
      store_relaxed(tab.keys[base + s], empty_key<Key>);
      if (!digests_word_aligned(tab)) tab.digests[base + s] = 0;
      tab.scores[base + s] = 0;
    }
    // Whole words (one lane each), never a read-modify-write from several lanes of one word.
    if (digests_word_aligned(tab))
      for (std::uint32_t w = t.rank(); w < tab.bucket_slots / 8; w += Tile::size)
        store_relaxed(reinterpret_cast<std::uint64_t*>(tab.digests)[base / 8 + w], std::uint64_t{0});
    t.sync();
    if (t.rank() == 0) store_relaxed(tab.bucket_sizes[bucket], 0u);
    unlock_bucket(t, tab.locks[bucket]);
    return 0;
  }
};

/// Ops whose work per item is a load or two (validation, sketch ageing, size) serve a run of
/// `run_items` consecutive items per call: on the device one item per lane, where a tile per item
/// would leave 31 of its 32 lanes idle; on the host a loop. Run them over runs_of(n) indices.
inline constexpr std::uint32_t run_items = 32;
BELADY_HD BELADY_INLINE std::size_t runs_of(std::size_t n) { return (n + run_items - 1) / run_items; }

/// The items [first, end) of run `run` of n items; lane r serves first + r, first + r + Tile::size, ...
struct item_run {
  std::size_t first, end;
  BELADY_HD item_run(std::size_t run, std::size_t n)
      : first(run * run_items), end(run * run_items + run_items < n ? run * run_items + run_items : n) {}
};

/// The sum of `v` over the tile's lanes, in every lane (Tile::size a power of two).
template <class Tile>
BELADY_HD BELADY_INLINE std::uint32_t tile_sum(const Tile& t, std::uint32_t v) {
  for (std::uint32_t offset = Tile::size / 2; offset > 0; offset /= 2) v += t.shfl_xor(v, offset);
  return v;
}

/// Per run of keys: count reserved keys into *counter (argument validation), the gate of the
/// batch's own launches (they do nothing unless it stays 0; backend_impl.hpp, gated). For an
/// `_async` call the count is also added to the cache's running total of rejected keys,
/// `pending`, with `pending_flag` raised for the host after it: the next synchronize() reports
/// them.
template <class Key>
struct count_reserved_op {
  const Key* keys;
  std::size_t n;
  unsigned long long* counter;
  unsigned long long* pending = nullptr;
  std::uint32_t* pending_flag = nullptr;

  template <class Tile>
  BELADY_HD std::uint32_t operator()(const Tile& t, std::size_t run) const {
    const auto [first, end] = item_run(run, n);
    std::uint32_t reserved = 0;
    for (std::size_t i = first + t.rank(); i < end; i += Tile::size) reserved += is_reserved(keys[i]) ? 1u : 0u;
    reserved = tile_sum(t, reserved);
    if (t.rank() == 0 && reserved != 0) {
      atomic_ref<unsigned long long>(*counter).fetch_add(reserved, mo::memory_order_relaxed);
      if (pending != nullptr) {
        atomic_ref<unsigned long long>(*pending).fetch_add(reserved, mo::memory_order_relaxed);
        raise_host_flag(*pending_flag);
      }
    }
    return 0;
  }
};

/// Per run of sketch counters: halve them (TinyLFU ageing keeps the sketch about recent
/// popularity).
template <class Key>
struct age_sketch_op {
  table_view<Key> tab;
  std::size_t n;  ///< counters

  template <class Tile>
  BELADY_HD std::uint32_t operator()(const Tile& t, std::size_t run) const {
    const auto [first, end] = item_run(run, n);
    for (std::size_t i = first + t.rank(); i < end; i += Tile::size) {
      atomic_ref<std::uint32_t> c(tab.sketch[i]);
      std::uint32_t v = c.load(mo::memory_order_relaxed);
      while (v != 0 && !c.compare_exchange_weak(v, v / 2, mo::memory_order_relaxed, mo::memory_order_relaxed)) {
      }
    }
    return 0;
  }
};

/// Per run of buckets: count occupied slots into *counter.
template <class Key>
struct size_op {
  table_view<Key> tab;
  unsigned long long* counter;

  template <class Tile>
  BELADY_HD std::uint32_t operator()(const Tile& t, std::size_t run) const {
    const auto [first, end] = item_run(run, tab.num_buckets);
    std::uint32_t occupied = 0;  // at most 32 buckets of at most 1,024 slots
    for (std::size_t b = first + t.rank(); b < end; b += Tile::size) occupied += load_relaxed(tab.bucket_sizes[b]);
    occupied = tile_sum(t, occupied);
    if (t.rank() == 0 && occupied != 0)
      atomic_ref<unsigned long long>(*counter).fetch_add(occupied, mo::memory_order_relaxed);
    return 0;
  }
};

/// Per bucket overlapping [first_slot, first_slot + slot_count): copy occupied slots out,
/// compacted through b.counter.
template <class Key>
struct export_op {
  table_view<Key> tab;
  batch<Key> b;  ///< evicted_* used as the output arrays
  std::uint64_t first_slot;
  std::uint64_t slot_count;

  template <class Tile>
  BELADY_HD std::uint32_t operator()(const Tile& t, std::size_t k) const {
    const std::uint64_t bucket = first_slot / tab.bucket_slots + k;
    const std::uint64_t base = bucket * tab.bucket_slots;
    const std::uint64_t lo = first_slot > base ? first_slot : base;
    const std::uint64_t end = first_slot + slot_count;
    const std::uint64_t hi = end < base + tab.bucket_slots ? end : base + tab.bucket_slots;
    lock_bucket(t, tab.locks[bucket]);
    // A round of Tile::size slots reserves its output positions with one atomic (not one per
    // slot: every tile of the grid appends to the same counter); each occupied slot takes the
    // position of its rank among the round's occupied slots, so the order is the slots' order.
    for (std::uint64_t s0 = lo; s0 < hi; s0 += Tile::size) {
      const std::uint64_t slot = s0 + t.rank();
      const Key key = slot < hi ? tab.keys[slot] : empty_key<Key>;
      const bool occupied = key != empty_key<Key>;
      const std::uint32_t mask = t.ballot(occupied);
      if (mask == 0) continue;
      unsigned long long first = 0;
      if (t.rank() == 0) first = atomic_ref<unsigned long long>(*b.counter).fetch_add(bit_count(mask), mo::memory_order_relaxed);
      first = t.shfl(first, 0);
      const auto position = [&](std::uint32_t lane) { return first + bit_count(mask & ((1u << lane) - 1u)); };
      if (occupied) {
        b.evicted_keys[position(t.rank())] = key;
        if (b.evicted_scores != nullptr) b.evicted_scores[position(t.rank())] = tab.scores[slot];
      }
      if (b.evicted_values != nullptr)
        for (std::uint32_t rest = mask; rest != 0; rest &= rest - 1) {  // each row copied by the whole tile
          const std::uint32_t lane = first_set(rest);
          t.copy(b.evicted_values + position(lane) * tab.value_bytes, tab.value_at(s0 + lane), tab.value_bytes);
        }
      t.sync();
    }
    unlock_bucket(t, tab.locks[bucket]);
    return 0;
  }
};

}  // namespace belady::detail
