// LIRS (Jiang & Zhang, SIGMETRICS '02), as libCacheSim implements it (cache/eviction/LIRS.c):
//   stack S (recency order of LIR blocks, resident HIR and non-resident HIR blocks), list Q
//   (resident HIR blocks, LRU order) and list NH (non-resident HIR blocks still in S, in the
//   order they lost residence). HIR share: max(1, floor(0.01 c)); LIR share: the rest. Every
//   size is in capacity units (bytes with sizes); non-resident entries do not count.
//   libCacheSim's variant, reproduced here because its published numbers depend on it:
//   - hit on a resident HIR block that is only in Q: LIR blocks are demoted (bottom of S to Q,
//     then S is pruned) until the LIR set has room for the block, although the block is put on
//     top of S as HIR and stays in Q;
//   - hit on a resident HIR block in S: it leaves Q and becomes LIR (demoting LIR blocks until it
//     fits);
//   - miss on a non-resident HIR block in S: demote LIR blocks until it fits in the LIR set,
//     then it becomes LIR (resident);
//   - miss on an unknown block: LIR if the LIR set has room, otherwise resident HIR (on top of S
//     and in Q); objects larger than the HIR share are never cached;
//   - demoting an LIR block evicts Q's LRU blocks until it fits in the HIR share; evicting a Q
//     block whose key is in S marks that entry non-resident (and records it in NH);
//   - after every request, while S holds more than 2c (all entries counted), the oldest
//     non-resident entries (NH order) are removed from S.
//   At capacity 1 the HIR share takes the only unit and, as in libCacheSim, nothing is cached.
//   Where libCacheSim would crash or spin (states its published runs never reach), the loops
//   below stop instead.
#include <algorithm>

#include "../dlist.hpp"
#include "../exact_policy.hpp"
#include "../flat_map.hpp"

namespace belady::replay {
namespace {

/// One object the policy knows about: it is in S, in Q, or both (NH implies S).
struct object {
  std::uint64_t key;
  std::uint32_t size;
  bool is_lir = false;    ///< status of the S entry
  bool resident = false;  ///< the S entry's "in cache" flag
  bool in_s = false, in_q = false, in_nh = false;
};
struct no_payload {};

class lirs final : public exact_policy {
 public:
  explicit lirs(std::uint64_t capacity)
      : capacity_(capacity),
        hirs_limit_(
            std::max<std::uint64_t>(1, static_cast<std::uint64_t>(0.01 * static_cast<double>(capacity)))),
        lirs_limit_(capacity > hirs_limit_ ? capacity - hirs_limit_ : 0) {}

  bool access(const request& r) override {
    const bool hit = serve(r);
    limit_stack();
    return hit;
  }
  [[nodiscard]] std::string_view name() const override { return "lirs"; }
  [[nodiscard]] std::uint64_t occupied() const override { return occupied_; }

 private:
  object& at(std::uint32_t i) { return objects_[i].data; }

  bool serve(const request& r) {
    const std::uint32_t i = index_.find(r.key);
    if (i != flat_map::absent) {
      object& o = at(i);
      if (o.in_s) s_.move_to_front(objects_, i);
      if (o.in_q) q_.move_to_front(q_links_, i);
      if (!o.in_s) {  // resident HIR block known only to Q
        hit_resident_hir_in_q(i);
        return true;
      }
      if (o.is_lir) {
        prune();
        return true;
      }
      if (o.resident) {
        hit_resident_hir_in_s(i);
        return true;
      }
      // A non-resident HIR block still in S: a miss.
      if (r.size > capacity_) return false;
      miss_non_resident_in_s(i);
      return false;
    }
    if (r.size > capacity_ || r.size > lirs_limit_ || r.size > hirs_limit_) return false;
    miss_unknown(r);
    return false;
  }

  void hit_resident_hir_in_s(std::uint32_t i) {
    object& o = at(i);
    if (o.in_q) {
      hirs_count_ -= o.size;
      occupied_ -= o.size;
      q_.unlink(q_links_, i);
      o.in_q = false;
    }
    while (lirs_count_ + o.size > lirs_limit_ && lirs_count_ > 0) evict_lir();
    o.is_lir = true;
    lirs_count_ += o.size;
    occupied_ += o.size;
  }

  void hit_resident_hir_in_q(std::uint32_t i) {
    const std::uint64_t key = at(i).key;
    const std::uint32_t size = at(i).size;
    // Demotions below may evict this very block from Q (then the record is gone; libCacheSim
    // still puts it on S as a resident HIR block, uncounted).
    while (lirs_count_ + size > lirs_limit_ && lirs_count_ > 0) evict_lir();
    std::uint32_t j = index_.find(key);
    if (j == flat_map::absent) j = allocate(key, size);
    object& o = at(j);
    o.is_lir = false;
    o.resident = true;
    push_s(j);
  }

  void miss_non_resident_in_s(std::uint32_t i) {
    // LIRS_can_insert: make room in the LIR set, forget the NH record.
    const std::uint32_t size = at(i).size;
    while (lirs_count_ + size > lirs_limit_ && lirs_count_ > 0) evict_lir();
    if (at(i).in_nh) {
      nh_.unlink(nh_links_, i);
      at(i).in_nh = false;
    }
    // cache_get_base's eviction loop with LIRS_evict.
    while (occupied_ + size > capacity_) {
      while (hirs_count_ >= hirs_limit_ && !q_.empty()) evict_hir();
      if (lirs_count_ == 0) break;  // libCacheSim would spin here
      evict_lir();
    }
    object& o = at(i);
    o.is_lir = true;
    o.resident = true;
    lirs_count_ += size;
    occupied_ += size;
  }

  void miss_unknown(const request& r) {
    const bool lir_full = lirs_count_ + r.size > lirs_limit_;
    if (lir_full && hirs_count_ + r.size > hirs_limit_) {
      while (hirs_count_ + r.size > hirs_limit_ && !q_.empty()) evict_hir();
    }
    while (occupied_ + r.size > capacity_) {
      if (!(lirs_count_ + r.size > lirs_limit_ && hirs_count_ + r.size > hirs_limit_) || q_.empty()) break;
      evict_hir();
    }
    const std::uint32_t i = allocate(r.key, r.size);
    object& o = at(i);
    o.resident = true;
    push_s(i);
    if (lirs_count_ + r.size <= lirs_limit_) {
      o.is_lir = true;
      lirs_count_ += r.size;
    } else {
      push_q(i);
      hirs_count_ += r.size;
    }
    occupied_ += r.size;
  }

  /// Moves the bottom of S (an LIR block) to Q as resident HIR, then prunes S.
  void evict_lir() {
    const std::uint32_t t = s_.tail();
    const std::uint32_t size = at(t).size;
    lirs_count_ -= size;
    occupied_ -= size;
    unlink_s(t);
    if (size <= hirs_limit_) {
      while (hirs_count_ + size > hirs_limit_ && !q_.empty()) evict_hir();
      at(t).is_lir = false;
      at(t).resident = true;
      if (!at(t).in_q) push_q(t);
      hirs_count_ += size;
      occupied_ += size;
    } else if (!at(t).in_q) {
      release(t);
    }
    prune();
  }

  /// Evicts Q's LRU block; its S entry, if any, becomes non-resident.
  void evict_hir() {
    const std::uint32_t t = q_.tail();
    object& o = at(t);
    hirs_count_ -= o.size;
    occupied_ -= o.size;
    q_.unlink(q_links_, t);
    o.in_q = false;
    if (!o.in_s) {
      release(t);
      return;
    }
    o.resident = false;
    if (!o.in_nh) {
      nh_.push_front(nh_links_, t);
      o.in_nh = true;
    }
  }

  /// Removes HIR entries from the bottom of S until an LIR block is there (never the top one).
  void prune() {
    for (std::uint32_t t = s_.tail(); t != s_.head(); t = s_.tail()) {
      if (at(t).is_lir) break;
      unlink_s(t);
      if (!at(t).in_q) release(t);
    }
  }

  /// Bounds S to 2c (all entries counted) by dropping the oldest non-resident entries.
  void limit_stack() {
    while (s_bytes_ > 2 * capacity_ && !nh_.empty()) {
      const std::uint32_t t = nh_.tail();
      unlink_s(t);
      if (!at(t).in_q) release(t);
    }
  }

  // ---- bookkeeping: one record per key, threaded on up to three lists. The three pools are
  // allocated and released in lockstep, so a record's index is the same in all of them. ----
  std::uint32_t allocate(std::uint64_t key, std::uint32_t size) {
    const std::uint32_t i = objects_.allocate(object{key, size});
    q_links_.allocate({});
    nh_links_.allocate({});
    index_.set(key, i);
    return i;
  }
  void release(std::uint32_t i) {
    index_.erase(at(i).key);
    objects_.release(i);
    q_links_.release(i);
    nh_links_.release(i);
  }
  void push_s(std::uint32_t i) {
    s_.push_front(objects_, i);
    at(i).in_s = true;
    s_bytes_ += at(i).size;
  }
  void push_q(std::uint32_t i) {
    q_.push_front(q_links_, i);
    at(i).in_q = true;
  }
  /// Takes i off S (and off NH, which only ever holds S entries).
  void unlink_s(std::uint32_t i) {
    object& o = at(i);
    s_.unlink(objects_, i);
    o.in_s = false;
    s_bytes_ -= o.size;
    if (o.in_nh) {
      nh_.unlink(nh_links_, i);
      o.in_nh = false;
    }
  }

  std::uint64_t capacity_;
  std::uint64_t hirs_limit_;
  std::uint64_t lirs_limit_;
  std::uint64_t lirs_count_ = 0;
  std::uint64_t hirs_count_ = 0;
  std::uint64_t occupied_ = 0;
  std::uint64_t s_bytes_ = 0;
  node_pool<object> objects_;  // S links + the records
  node_pool<no_payload> q_links_;
  node_pool<no_payload> nh_links_;
  dlist<object> s_;
  dlist<no_payload> q_;
  dlist<no_payload> nh_;
  flat_map index_;
};

}  // namespace

std::unique_ptr<exact_policy> make_lirs(std::uint64_t capacity) { return std::make_unique<lirs>(capacity); }

}  // namespace belady::replay
