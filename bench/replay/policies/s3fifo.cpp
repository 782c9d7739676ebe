// S3-FIFO (Yang et al., SOSP '23), as libCacheSim's original implementation does it
// (cache/eviction/S3FIFOv0.c, "the original S3FIFO implementation used in [the SOSP paper]";
// the S3FIFO row published for cloudPhysicsIO is its row, and it reproduces the PEERS.md cells).
// libCacheSim's newer S3FIFO.c differs only while the cache first fills (it sends newcomers to M
// once S is full).
//   small FIFO S of floor(0.1 c), main FIFO M of c - |S| (a 2-bit CLOCK), ghost FIFO G of
//   floor(0.9 c). All three are measured in capacity units (bytes with sizes), ghost included.
//   - hit in S or M: freq += 1 (kept saturated at 3, all the policy ever reads).
//   - miss: a key found in G leaves G and is inserted into M; any other key goes to S, unless it
//     is not smaller than S. Objects larger than S are never cached.
//   - make room (while S + M + size > c): if M is over its share or S is empty, evict from M,
//     else from S.
//     S: pop the oldest; freq >= 2 moves it to M (freq 0), otherwise it goes to G and the step
//     ends. M: pop the oldest; freq >= 1 reinserts it with freq = min(freq, 3) - 1, otherwise it
//     is evicted and the step ends.
//   S is allowed to exceed its share while the cache is filling up (inserts never evict within
//   S or M; only the overall capacity does).
#include <algorithm>

#include "../dlist.hpp"
#include "../exact_policy.hpp"
#include "../flat_map.hpp"

namespace belady::replay {
namespace {

enum class where : std::uint8_t { small, main, ghost };

struct entry {
  std::uint64_t key;
  std::uint32_t size;
  std::uint8_t freq;
  where queue;
};

class s3fifo final : public exact_policy {
 public:
  explicit s3fifo(std::uint64_t capacity)
      : capacity_(capacity),
        // libCacheSim truncates the products; it refuses caches under 10 units, where the small
        // queue would be empty. Here the small queue keeps at least one unit instead.
        small_cap_(
            std::max<std::uint64_t>(1, static_cast<std::uint64_t>(static_cast<double>(capacity) * 0.10))),
        main_cap_(capacity > small_cap_ ? capacity - small_cap_ : 0),
        ghost_cap_(static_cast<std::uint64_t>(static_cast<double>(capacity) * 0.90)) {}

  bool access(const request& r) override {
    bool from_ghost = false;
    if (const std::uint32_t i = index_.find(r.key); i != flat_map::absent) {
      entry& e = pool_[i].data;
      if (e.queue != where::ghost) {
        if (e.freq < 3) ++e.freq;
        return true;
      }
      from_ghost = true;
      drop(i);
    }
    if (r.size > small_cap_ || r.size > capacity_) return false;
    while (occupied() + r.size > capacity_) evict();
    if (from_ghost) {
      push(where::main, r.key, r.size, 0);
    } else if (admits_to_small(r.size)) {
      push(where::small, r.key, r.size, 0);
    }
    return false;
  }
  [[nodiscard]] std::string_view name() const override { return "s3fifo"; }
  [[nodiscard]] std::uint64_t occupied() const override { return bytes(where::small) + bytes(where::main); }

 private:
  static constexpr std::size_t idx(where w) { return static_cast<std::size_t>(w); }
  [[nodiscard]] std::uint64_t bytes(where w) const { return bytes_[idx(w)]; }

  // libCacheSim will not let one object fill the small queue by itself ("size >= small size":
  // no insert, after room was made). With a one-unit small queue that would admit nothing, so
  // there a one-unit object is admitted.
  [[nodiscard]] bool admits_to_small(std::uint32_t size) const {
    return size < small_cap_ || (small_cap_ == 1 && size == 1);
  }

  void push(where q, std::uint64_t key, std::uint32_t size, std::uint8_t freq) {
    const std::uint32_t n = pool_.allocate({key, size, freq, q});
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
  /// Moves node i to the head of queue q with the given frequency.
  void requeue(std::uint32_t i, where q, std::uint8_t freq) {
    unlink(i);
    entry& e = pool_[i].data;
    e.queue = q;
    e.freq = freq;
    lists_[idx(q)].push_front(pool_, i);
    bytes_[idx(q)] += e.size;
  }

  void evict() {
    if (bytes(where::main) > main_cap_ || bytes(where::small) == 0) {
      evict_main();
    } else {
      evict_small();
    }
  }

  void evict_small() {
    while (bytes(where::small) > 0) {
      const std::uint32_t v = lists_[idx(where::small)].tail();
      if (pool_[v].data.freq >= 2) {
        requeue(v, where::main, 0);
        continue;
      }
      to_ghost(v);
      return;
    }
  }

  void evict_main() {
    while (bytes(where::main) > 0) {
      const std::uint32_t v = lists_[idx(where::main)].tail();
      const std::uint8_t f = pool_[v].data.freq;
      if (f >= 1) {
        requeue(v, where::main, static_cast<std::uint8_t>(std::min<int>(f, 3) - 1));
        continue;
      }
      drop(v);
      return;
    }
  }

  /// Evicts small-queue node v into the ghost FIFO (a FIFO cache of ghost_cap_ units).
  void to_ghost(std::uint32_t v) {
    const std::uint32_t size = pool_[v].data.size;
    if (size > ghost_cap_) {
      drop(v);
      return;
    }
    unlink(v);  // out of S first, so the ghost trimming below cannot pick it
    while (bytes(where::ghost) + size > ghost_cap_) drop(lists_[idx(where::ghost)].tail());
    entry& e = pool_[v].data;
    e.queue = where::ghost;
    e.freq = 0;
    lists_[idx(where::ghost)].push_front(pool_, v);
    bytes_[idx(where::ghost)] += size;
  }

  std::uint64_t capacity_;
  std::uint64_t small_cap_;
  std::uint64_t main_cap_;
  std::uint64_t ghost_cap_;
  std::uint64_t bytes_[3] = {0, 0, 0};
  node_pool<entry> pool_;
  dlist<entry> lists_[3];
  flat_map index_;
};

}  // namespace

std::unique_ptr<exact_policy> make_s3fifo(std::uint64_t capacity) {
  return std::make_unique<s3fifo>(capacity);
}

}  // namespace belady::replay
