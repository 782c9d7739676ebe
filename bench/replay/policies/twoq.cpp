// 2Q (Johnson & Shasha, VLDB '94, the full version), as libCacheSim implements it
// (cache/eviction/TwoQ.c, defaults Ain-size-ratio=0.25, Aout-size-ratio=0.5):
//   Ain: FIFO of first-time objects, share floor(0.25 c); Am: LRU of c - |Ain share|;
//   Aout: FIFO ghost of keys recently evicted from Ain, floor(0.5 c). All in capacity units
//   (bytes with sizes), ghost included.
//   - hit in Ain: nothing moves (a FIFO). Hit in Am: move to the MRU end.
//   - miss on a key in Aout: the key leaves Aout and the object goes into Am (which, as its own
//     LRU cache, first evicts its LRU end until the object fits in Am's share).
//   - any other miss: the object goes into Ain.
//   - make room (while Ain + Am + size > c): if Ain holds more than its share, its oldest object
//     is evicted into Aout (Aout drops its oldest keys to fit); otherwise Am's LRU is evicted.
//   Objects larger than Ain's share are never cached.
#include <algorithm>

#include "../dlist.hpp"
#include "../exact_policy.hpp"
#include "../flat_map.hpp"

namespace belady::replay {
namespace {

enum class where : std::uint8_t { ain, am, aout };

struct entry {
  std::uint64_t key;
  std::uint32_t size;
  where queue;
};

class twoq final : public exact_policy {
 public:
  explicit twoq(std::uint64_t capacity)
      : capacity_(capacity),
        ain_cap_(static_cast<std::uint64_t>(static_cast<double>(capacity) * 0.25)),
        aout_cap_(static_cast<std::uint64_t>(static_cast<double>(capacity) * 0.50)),
        am_cap_(capacity - ain_cap_) {
    // libCacheSim would admit nothing into a cache under 4 units (an empty Ain share); keep at
    // least one unit there so tiny caches still work.
    if (ain_cap_ == 0 && capacity > 0) {
      ain_cap_ = 1;
      am_cap_ = capacity - 1;
    }
  }

  bool access(const request& r) override {
    bool from_ghost = false;
    if (const std::uint32_t i = index_.find(r.key); i != flat_map::absent) {
      entry& e = pool_[i].data;
      if (e.queue == where::ain) return true;
      if (e.queue == where::am) {
        lists_[idx(where::am)].move_to_front(pool_, i);
        return true;
      }
      from_ghost = true;
      drop(i);
    }
    if (r.size > ain_cap_ || r.size > capacity_) return false;
    while (occupied() + r.size > capacity_) evict();
    if (from_ghost) {
      // Am->get(): an LRU cache of its own share.
      if (r.size <= am_cap_) {
        while (bytes(where::am) + r.size > am_cap_) drop(lists_[idx(where::am)].tail());
        push(where::am, r.key, r.size);
      }
    } else {
      push(where::ain, r.key, r.size);
    }
    return false;
  }
  [[nodiscard]] std::string_view name() const override { return "2q"; }
  [[nodiscard]] std::uint64_t occupied() const override { return bytes(where::ain) + bytes(where::am); }

 private:
  static constexpr std::size_t idx(where w) { return static_cast<std::size_t>(w); }
  [[nodiscard]] std::uint64_t bytes(where w) const { return bytes_[idx(w)]; }

  void push(where q, std::uint64_t key, std::uint32_t size) {
    const std::uint32_t n = pool_.allocate({key, size, q});
    lists_[idx(q)].push_front(pool_, n);
    bytes_[idx(q)] += size;
    index_.set(key, n);
  }
  void unlink(std::uint32_t i) {
    const entry& e = pool_[i].data;
    lists_[idx(e.queue)].unlink(pool_, i);
    bytes_[idx(e.queue)] -= e.size;
  }
  void drop(std::uint32_t i) {
    unlink(i);
    index_.erase(pool_[i].data.key);
    pool_.release(i);
  }

  void evict() {
    if (bytes(where::ain) > ain_cap_ || lists_[idx(where::am)].empty()) {
      const std::uint32_t v = lists_[idx(where::ain)].tail();
      const std::uint32_t size = pool_[v].data.size;
      if (size > aout_cap_) {
        drop(v);
        return;
      }
      unlink(v);
      while (bytes(where::aout) + size > aout_cap_) drop(lists_[idx(where::aout)].tail());
      pool_[v].data.queue = where::aout;
      lists_[idx(where::aout)].push_front(pool_, v);
      bytes_[idx(where::aout)] += size;
      return;
    }
    drop(lists_[idx(where::am)].tail());
  }

  std::uint64_t capacity_;
  std::uint64_t ain_cap_;
  std::uint64_t aout_cap_;
  std::uint64_t am_cap_;
  std::uint64_t bytes_[3] = {0, 0, 0};
  node_pool<entry> pool_;
  dlist<entry> lists_[3];
  flat_map index_;
};

}  // namespace

std::unique_ptr<exact_policy> make_twoq(std::uint64_t capacity) { return std::make_unique<twoq>(capacity); }

}  // namespace belady::replay
