// ARC (Megiddo & Modha, FAST '03), as libCacheSim implements it (cache/eviction/ARC.c):
//   T1 (seen once, LRU), T2 (seen at least twice, LRU), ghosts B1 and B2 (keys only).
//   Every size below is in capacity units (bytes with sizes, objects without), ghosts included.
//   - hit in T1 or T2: move to the MRU end of T2.
//   - hit in ghost B1: p += max(|B2| / |B1|, 1) (a ratio of the two ghost sizes, not scaled by
//     the object's size, so in bytes p adapts by about one unit per ghost hit), capped at c;
//     hit in B2: p -= max(|B1| / |B2|, 1), floored at 0. The ghost entry is dropped, room is made
//     with REPLACE only, and the object is inserted at the MRU end of T2.
//   - complete miss (case IV): while the newcomer does not fit, if |T1| + |B1| + size > c then
//     drop the LRU of B1 and REPLACE (or, when B1 is empty, drop the LRU of T1 without a ghost);
//     otherwise drop the LRU of B2 when |T1| + |B1| + |T2| + |B2| >= 2c, then REPLACE. The
//     object is inserted at the MRU end of T1.
//   - REPLACE: demote the LRU of T1 to B1 if T1 is non-empty and (|T1| > p, or |T1| == p and the
//     request hit B2), or if T2 is empty; otherwise demote the LRU of T2 to B2.
#include <algorithm>

#include "../dlist.hpp"
#include "../exact_policy.hpp"
#include "../flat_map.hpp"

namespace belady::replay {
namespace {

enum class where : std::uint8_t { t1, t2, b1, b2 };

struct entry {
  std::uint64_t key;
  std::uint32_t size;
  where list;
};

class arc final : public exact_policy {
 public:
  explicit arc(std::uint64_t capacity) : capacity_(capacity) {}

  bool access(const request& r) override {
    bool ghost_b1 = false, ghost_b2 = false;
    if (const std::uint32_t i = index_.find(r.key); i != flat_map::absent) {
      entry& e = pool_[i].data;
      switch (e.list) {
        case where::t1:
          move(i, where::t2);
          return true;
        case where::t2:
          lists_[idx(where::t2)].move_to_front(pool_, i);
          return true;
        case where::b1: {
          ghost_b1 = true;
          const double delta =
              std::max(static_cast<double>(bytes(where::b2)) / static_cast<double>(bytes(where::b1)), 1.0);
          p_ = std::min(p_ + delta, static_cast<double>(capacity_));
          drop(i);
          break;
        }
        case where::b2: {
          ghost_b2 = true;
          const double delta =
              std::max(static_cast<double>(bytes(where::b1)) / static_cast<double>(bytes(where::b2)), 1.0);
          p_ = std::max(p_ - delta, 0.0);
          drop(i);
          break;
        }
      }
    }
    if (r.size > capacity_) return false;
    const bool ghost_hit = ghost_b1 || ghost_b2;
    while (occupied() + r.size > capacity_) {
      if (ghost_hit) {
        replace(ghost_b2);
      } else {
        evict_on_full_miss(r.size);
      }
    }
    const where to = ghost_hit ? where::t2 : where::t1;
    const std::uint32_t n = pool_.allocate({r.key, r.size, to});
    lists_[idx(to)].push_front(pool_, n);
    bytes_[idx(to)] += r.size;
    index_.set(r.key, n);
    return false;
  }
  [[nodiscard]] std::string_view name() const override { return "arc"; }
  [[nodiscard]] std::uint64_t occupied() const override { return bytes(where::t1) + bytes(where::t2); }

 private:
  static constexpr std::size_t idx(where w) { return static_cast<std::size_t>(w); }
  [[nodiscard]] std::uint64_t bytes(where w) const { return bytes_[idx(w)]; }

  /// Moves node i from its list to the MRU end of list `to`.
  void move(std::uint32_t i, where to) {
    entry& e = pool_[i].data;
    lists_[idx(e.list)].unlink(pool_, i);
    bytes_[idx(e.list)] -= e.size;
    e.list = to;
    lists_[idx(to)].push_front(pool_, i);
    bytes_[idx(to)] += e.size;
  }
  /// Forgets node i entirely.
  void drop(std::uint32_t i) {
    entry& e = pool_[i].data;
    lists_[idx(e.list)].unlink(pool_, i);
    bytes_[idx(e.list)] -= e.size;
    index_.erase(e.key);
    pool_.release(i);
  }

  // REPLACE(p) of the paper, with libCacheSim's extra "or T2 is empty" escape.
  void replace(bool hit_in_b2) {
    const double t1 = static_cast<double>(bytes(where::t1));
    const bool from_t1 =
        (bytes(where::t1) > 0 && (t1 > p_ || (t1 == p_ && hit_in_b2))) || bytes(where::t2) == 0;
    if (from_t1) {
      move(lists_[idx(where::t1)].tail(), where::b1);
    } else {
      move(lists_[idx(where::t2)].tail(), where::b2);
    }
  }

  // Case IV: the request is in none of the four lists.
  void evict_on_full_miss(std::uint32_t size) {
    if (bytes(where::t1) + bytes(where::b1) + size > capacity_) {
      if (bytes(where::b1) > 0) {
        drop(lists_[idx(where::b1)].tail());
        replace(false);
      } else {
        drop(lists_[idx(where::t1)].tail());
      }
      return;
    }
    if (bytes(where::t1) + bytes(where::b1) + bytes(where::t2) + bytes(where::b2) >= 2 * capacity_ &&
        bytes(where::b2) > 0) {
      drop(lists_[idx(where::b2)].tail());
    }
    replace(false);
  }

  std::uint64_t capacity_;
  double p_ = 0.0;  ///< target size of T1, in capacity units
  std::uint64_t bytes_[4] = {0, 0, 0, 0};
  node_pool<entry> pool_;
  dlist<entry> lists_[4];
  flat_map index_;
};

}  // namespace

std::unique_ptr<exact_policy> make_arc(std::uint64_t capacity) { return std::make_unique<arc>(capacity); }

}  // namespace belady::replay
