// SIEVE (Zhang et al., NSDI '24): one FIFO queue, a visited bit per object and a moving hand.
// Newcomers enter at the head with the bit clear; a hit only sets the bit. To evict, the hand
// walks from where it last stopped (the tail at first) toward the head, clearing set bits, and
// evicts the first object whose bit is clear; it then rests on that object's newer neighbour and
// wraps around to the tail when it runs off the head. Survivors are never moved, which is what
// separates SIEVE from CLOCK (where they are re-queued as the newest). As libCacheSim's Sieve.
#include "../dlist.hpp"
#include "../exact_policy.hpp"
#include "../flat_map.hpp"

namespace belady::replay {
namespace {

struct entry {
  std::uint64_t key;
  std::uint32_t size;
  bool visited;
};

class sieve final : public exact_policy {
 public:
  explicit sieve(std::uint64_t capacity) : capacity_(capacity) {}

  bool access(const request& r) override {
    const std::uint32_t i = index_.find(r.key);
    if (i != flat_map::absent) {
      pool_[i].data.visited = true;
      return true;
    }
    if (r.size > capacity_) return false;
    while (occupied_ + r.size > capacity_) evict();
    const std::uint32_t n = pool_.allocate({r.key, r.size, false});
    queue_.push_front(pool_, n);
    index_.set(r.key, n);
    occupied_ += r.size;
    return false;
  }
  [[nodiscard]] std::string_view name() const override { return "sieve"; }
  [[nodiscard]] std::uint64_t occupied() const override { return occupied_; }

 private:
  void evict() {
    // dlist: head = newest, tail = oldest; node.prev points one step toward the head.
    std::uint32_t v = hand_ == nil ? queue_.tail() : hand_;
    while (pool_[v].data.visited) {
      pool_[v].data.visited = false;
      v = pool_[v].prev == nil ? queue_.tail() : pool_[v].prev;
    }
    hand_ = pool_[v].prev;  // nil: next search starts over at the tail
    queue_.unlink(pool_, v);
    index_.erase(pool_[v].data.key);
    occupied_ -= pool_[v].data.size;
    pool_.release(v);
  }

  std::uint64_t capacity_;
  std::uint64_t occupied_ = 0;
  node_pool<entry> pool_;
  dlist<entry> queue_;
  std::uint32_t hand_ = nil;
  flat_map index_;
};

}  // namespace

std::unique_ptr<exact_policy> make_sieve(std::uint64_t capacity) { return std::make_unique<sieve>(capacity); }

}  // namespace belady::replay
