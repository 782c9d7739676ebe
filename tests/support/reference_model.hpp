#pragma once
// A sequential reference model of belady::cache's documented semantics, written for clarity, not
// speed. It shares only the hash (bucket choice) and the LFU score packing with the library, so
// the differential tests compare two independent implementations of the same contract:
//
//  - capacity is rounded up to whole buckets; a key lives in bucket bucket_of(mix64(key));
//  - every keyed batch call with n > 0 advances a logical clock by one (size, clear, export and
//    rejected calls do not);
//  - lru: score = time of the last insert/hit/assign; lfu: lfu_score(count, now) with count 1 on
//    insert and +1 per hit or assign; fifo: score = insert time; custom: the caller's score on
//    insert (and on assign when given), unchanged by hits;
//  - a newcomer takes the lowest-numbered free slot; in a full bucket the lowest score is
//    evicted (ties to the lowest slot), unless the newcomer scores lower than that: refused;
//  - contains touches nothing; find, find_or_insert hits, assigns and overwrites are accesses;
//  - keys repeated within a batch behave as a sequential loop over the batch.
//
// find_or_insert is the one operation whose results the library defines only "unless the batch
// itself evicts the key": the model marks as unspecified (found flag and output value) the
// repeats of a key this batch inserted when the batch evicts that key after the repeat, and it
// never counts such a repeat as an access (see find_or_insert below).
#include <algorithm>
#include <belady/cache.hpp>
#include <belady/detail/hash.hpp>
#include <belady/detail/policy.hpp>
#include <cstdint>
#include <optional>
#include <span>
#include <stdexcept>
#include <vector>

#include "support/test_support.hpp"

namespace belady_test {

/// Deliberate mistakes, so tests can show that the differential test notices a wrong model.
enum class model_fault {
  none,
  victim_tie_to_highest_slot,  ///< ties between lowest scores go to the highest slot
  lfu_hits_do_not_count,       ///< lfu: find hits do not raise the count
  fifo_hits_refresh,           ///< fifo: hits move the score to now
  contains_touches,            ///< contains counts as an access
  contains_does_not_tick,      ///< contains does not advance the clock
  no_admission,                ///< a full bucket always evicts, never refuses
  find_or_insert_last_wins,    ///< repeats of a key inserted by this batch overwrite its value
  free_slot_highest,           ///< newcomers take the highest-numbered free slot
};

template <class Key, class T>
class reference_model {
 public:
  struct slot {
    bool used = false;
    Key key{};
    std::vector<T> value;
    std::uint64_t score = 0;
    std::uint64_t last_access = 0;
    std::uint64_t insert_time = 0;
    std::uint32_t count = 0;
  };

  reference_model(std::size_t capacity, std::size_t dim, std::uint32_t bucket_size, belady::policy p,
                  model_fault fault = model_fault::none)
      : dim_(dim), bucket_size_(bucket_size), policy_(p), fault_(fault) {
    if (capacity == 0 || dim == 0 || bucket_size == 0) throw std::invalid_argument("reference_model: zero size");
    switch (p) {
      case belady::policy::lru:
      case belady::policy::lfu:
      case belady::policy::fifo:
      case belady::policy::custom:
        break;
      default:
        throw std::invalid_argument("reference_model: policy not modelled");
    }
    num_buckets_ = (capacity + bucket_size - 1) / bucket_size;
    slots_.resize(num_buckets_ * bucket_size);
  }

  [[nodiscard]] std::size_t capacity() const { return slots_.size(); }
  [[nodiscard]] std::size_t bucket_count() const { return num_buckets_; }
  [[nodiscard]] std::size_t dim() const { return dim_; }
  [[nodiscard]] std::uint64_t now() const { return now_; }
  [[nodiscard]] const slot& slot_at(std::size_t i) const { return slots_[i]; }
  [[nodiscard]] std::uint64_t bucket_of_key(Key k) const {
    return belady::detail::bucket_of(belady::detail::mix64(static_cast<std::uint64_t>(k)), num_buckets_);
  }

  /// Returns the number of hits. Rows of misses in `values` are left as they are.
  std::size_t find(std::span<const Key> keys, std::span<T> values, std::span<bool> found,
                   std::span<std::uint64_t> scores = {}) {
    if (keys.empty()) return 0;
    tick();
    std::size_t hits = 0;
    for (std::size_t i = 0; i < keys.size(); ++i) {
      slot* s = lookup(keys[i]);
      found[i] = s != nullptr;
      if (s == nullptr) continue;
      ++hits;
      access(*s, /*is_hit=*/true, std::nullopt);
      std::copy(s->value.begin(), s->value.end(), values.begin() + static_cast<std::ptrdiff_t>(i * dim_));
      if (!scores.empty()) scores[i] = s->score;
    }
    return hits;
  }

  std::size_t contains(std::span<const Key> keys, std::span<bool> found) {
    if (keys.empty()) return 0;
    if (fault_ != model_fault::contains_does_not_tick) tick();
    std::size_t hits = 0;
    for (std::size_t i = 0; i < keys.size(); ++i) {
      slot* s = lookup(keys[i]);
      found[i] = s != nullptr;
      if (s != nullptr) {
        ++hits;
        if (fault_ == model_fault::contains_touches) access(*s, true, std::nullopt);
      }
    }
    return hits;
  }

  /// `handed` (optional) receives the evicted residents and refused newcomers.
  belady::insert_result insert_or_assign(std::span<const Key> keys, std::span<const T> values,
                                         std::span<const std::uint64_t> scores = {},
                                         std::vector<entry>* handed = nullptr) {
    belady::insert_result r;
    if (keys.empty()) return r;
    tick();
    for (std::size_t i = 0; i < keys.size(); ++i) {
      const T* in = values.data() + i * dim_;
      const std::optional<std::uint64_t> sc = scores.empty() ? std::nullopt : std::optional(scores[i]);
      if (slot* s = lookup(keys[i])) {
        s->value.assign(in, in + dim_);
        access(*s, false, sc);
        ++r.assigned;
      } else {
        insert(keys[i], in, sc.value_or(0), r, handed);
      }
    }
    return r;
  }

  belady::insert_result insert_and_evict(std::span<const Key> keys, std::span<const T> values,
                                         std::vector<entry>& handed, std::span<const std::uint64_t> scores = {}) {
    return insert_or_assign(keys, values, scores, &handed);
  }

  /// Returns how many were present.
  std::size_t assign(std::span<const Key> keys, std::span<const T> values, std::span<const std::uint64_t> scores = {}) {
    if (keys.empty()) return 0;
    tick();
    std::size_t n = 0;
    for (std::size_t i = 0; i < keys.size(); ++i) {
      slot* s = lookup(keys[i]);
      if (s == nullptr) continue;
      const T* in = values.data() + i * dim_;
      s->value.assign(in, in + dim_);
      access(*s, false, scores.empty() ? std::nullopt : std::optional(scores[i]));
      ++n;
    }
    return n;
  }

  struct find_or_insert_outcome {
    std::size_t found = 0;          ///< flags set (over all occurrences)
    std::vector<bool> unspecified;  ///< per occurrence: found/value not defined by the contract
    belady::insert_result writes;   ///< what the batch did to the table (not returned by the cache)
  };

  /// `values`: in, the values to insert; out, the stored values (refused newcomers keep theirs).
  find_or_insert_outcome find_or_insert(std::span<const Key> keys, std::span<T> values, std::span<bool> found,
                                        std::span<const std::uint64_t> scores = {}) {
    find_or_insert_outcome out;
    out.unspecified.assign(keys.size(), false);
    if (keys.empty()) return out;
    tick();
    std::vector<bool> repeat(keys.size(), false);  // found a key an earlier occurrence inserted
    std::vector<std::size_t> evicted_at;           // batch positions at which a key was evicted
    std::vector<std::uint64_t> evicted_key;
    for (std::size_t i = 0; i < keys.size(); ++i) {
      T* io = values.data() + i * dim_;
      if (slot* s = lookup(keys[i])) {
        found[i] = true;
        if (s->insert_time == now_) {
          // Inserted by an earlier occurrence of this batch. The library resolves repeats the
          // same way on every executor (the earliest occurrence inserts), so a repeat is not a
          // separate access: it reads the value without touching the metadata.
          if (fault_ == model_fault::find_or_insert_last_wins) s->value.assign(io, io + dim_);
          repeat[i] = true;
        } else {
          access(*s, true, std::nullopt);
        }
        std::copy(s->value.begin(), s->value.end(), io);
      } else {
        found[i] = false;
        std::vector<entry> handed;
        const std::size_t evictions = out.writes.evicted;
        insert(keys[i], io, scores.empty() ? 0 : scores[i], out.writes, &handed);
        if (out.writes.evicted != evictions) {
          evicted_at.push_back(i);
          evicted_key.push_back(handed.back().key);
        }
      }
    }
    for (std::size_t i = 0; i < keys.size(); ++i) {
      if (found[i]) ++out.found;
      if (!repeat[i]) continue;
      for (std::size_t e = 0; e < evicted_at.size(); ++e)
        if (evicted_at[e] > i && evicted_key[e] == static_cast<std::uint64_t>(keys[i])) out.unspecified[i] = true;
    }
    return out;
  }

  std::size_t erase(std::span<const Key> keys) {
    if (keys.empty()) return 0;
    tick();
    std::size_t n = 0;
    for (Key k : keys)
      if (slot* s = lookup(k)) {
        s->used = false;
        ++n;
      }
    return n;
  }

  void clear() {
    for (auto& s : slots_) s.used = false;
  }

  [[nodiscard]] std::size_t size() const {
    return static_cast<std::size_t>(std::count_if(slots_.begin(), slots_.end(), [](const slot& s) { return s.used; }));
  }

  /// Entries of slots [offset, offset + count), in slot order.
  [[nodiscard]] std::vector<entry> export_range(std::size_t offset, std::size_t count) const {
    std::vector<entry> out;
    for (std::size_t i = offset; i < std::min(offset + count, slots_.size()); ++i)
      if (slots_[i].used) out.push_back(make_entry(slots_[i].key, slots_[i].value.data(), dim_, slots_[i].score));
    return out;
  }
  [[nodiscard]] std::vector<entry> export_all() const { return sorted(export_range(0, slots_.size())); }

 private:
  void tick() { ++now_; }

  slot* lookup(Key k) {
    const std::size_t base = bucket_of_key(k) * bucket_size_;
    for (std::size_t s = base; s < base + bucket_size_; ++s)
      if (slots_[s].used && slots_[s].key == k) return &slots_[s];
    return nullptr;
  }

  /// A hit (find, find_or_insert) or a write (assign, overwrite) of a resident.
  void access(slot& s, bool is_hit, std::optional<std::uint64_t> supplied) {
    s.last_access = now_;
    const bool counts = !(is_hit && fault_ == model_fault::lfu_hits_do_not_count);
    if (counts && s.count != 0xffffffffu) ++s.count;
    switch (policy_) {
      case belady::policy::lru:
        s.score = now_;
        break;
      case belady::policy::lfu:
        s.score = belady::detail::lfu_score(s.count, now_);
        break;
      case belady::policy::fifo:
        if (fault_ == model_fault::fifo_hits_refresh) s.score = now_;
        break;
      case belady::policy::custom:
        if (supplied) s.score = *supplied;
        break;
      default:
        break;
    }
  }

  [[nodiscard]] std::uint64_t insert_score(std::uint64_t supplied) const {
    switch (policy_) {
      case belady::policy::lfu:
        return belady::detail::lfu_score(1, now_);
      case belady::policy::custom:
        return supplied;
      default:
        return now_;
    }
  }

  void insert(Key k, const T* in, std::uint64_t supplied, belady::insert_result& r, std::vector<entry>* handed) {
    const std::size_t base = bucket_of_key(k) * bucket_size_;
    const std::uint64_t score = insert_score(supplied);
    std::optional<std::size_t> target;
    for (std::size_t j = 0; j < bucket_size_; ++j) {
      const std::size_t s = fault_ == model_fault::free_slot_highest ? base + bucket_size_ - 1 - j : base + j;
      if (!slots_[s].used) {
        target = s;
        break;
      }
    }
    if (!target) {
      std::size_t v = base;
      for (std::size_t s = base + 1; s < base + bucket_size_; ++s) {
        const bool better = fault_ == model_fault::victim_tie_to_highest_slot ? slots_[s].score <= slots_[v].score
                                                                              : slots_[s].score < slots_[v].score;
        if (better) v = s;
      }
      if (score < slots_[v].score && fault_ != model_fault::no_admission) {
        ++r.refused;
        if (handed != nullptr) handed->push_back(make_entry(k, in, dim_, score));
        return;
      }
      ++r.evicted;
      if (handed != nullptr)
        handed->push_back(make_entry(slots_[v].key, slots_[v].value.data(), dim_, slots_[v].score));
      target = v;
    }
    slot& s = slots_[*target];
    s.used = true;
    s.key = k;
    s.value.assign(in, in + dim_);
    s.score = score;
    s.last_access = now_;
    s.insert_time = now_;
    s.count = 1;
    ++r.inserted;
  }

  std::size_t dim_;
  std::uint32_t bucket_size_;
  belady::policy policy_;
  model_fault fault_;
  std::size_t num_buckets_ = 0;
  std::vector<slot> slots_;
  std::uint64_t now_ = 0;
};

}  // namespace belady_test
