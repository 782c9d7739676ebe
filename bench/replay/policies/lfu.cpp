// LFU: evict the least frequently used object; among equally frequent ones, the one that reached
// that frequency first (FIFO within a frequency, as libCacheSim's LFU). Counts start at 1 on
// admission and are forgotten on eviction (no ghost history). O(1) per request: objects hang in
// per-frequency queues, and the non-empty frequencies form an ascending chain of buckets.
#include <vector>

#include "../dlist.hpp"
#include "../exact_policy.hpp"
#include "../flat_map.hpp"

namespace belady::replay {
namespace {

struct entry {
  std::uint64_t key;
  std::uint32_t size;
  std::uint32_t bucket;  // index into buckets_
};

class lfu final : public exact_policy {
 public:
  explicit lfu(std::uint64_t capacity) : capacity_(capacity) {}

  bool access(const request& r) override {
    const std::uint32_t i = index_.find(r.key);
    if (i != flat_map::absent) {
      bump(i);
      return true;
    }
    if (r.size > capacity_) return false;
    while (occupied_ + r.size > capacity_) evict();
    std::uint32_t b = first_;
    if (b == nil || buckets_[b].freq != 1) b = new_bucket(1, nil, first_);
    const std::uint32_t n = pool_.allocate({r.key, r.size, b});
    buckets_[b].objects.push_front(pool_, n);
    index_.set(r.key, n);
    occupied_ += r.size;
    return false;
  }
  [[nodiscard]] std::string_view name() const override { return "lfu"; }
  [[nodiscard]] std::uint64_t occupied() const override { return occupied_; }

 private:
  struct bucket {
    std::uint64_t freq = 0;
    std::uint32_t prev = nil, next = nil;  // ascending frequency
    dlist<entry> objects;                  // head = latest to reach freq, tail = next victim
  };

  void bump(std::uint32_t i) {
    const std::uint32_t b = pool_[i].data.bucket;
    const std::uint64_t f = buckets_[b].freq + 1;
    std::uint32_t t = buckets_[b].next;
    if (t == nil || buckets_[t].freq != f) t = new_bucket(f, b, t);
    buckets_[b].objects.unlink(pool_, i);
    buckets_[t].objects.push_front(pool_, i);
    pool_[i].data.bucket = t;
    if (buckets_[b].objects.empty()) drop_bucket(b);
  }

  void evict() {
    const std::uint32_t b = first_;
    const std::uint32_t v = buckets_[b].objects.tail();
    buckets_[b].objects.unlink(pool_, v);
    if (buckets_[b].objects.empty()) drop_bucket(b);
    index_.erase(pool_[v].data.key);
    occupied_ -= pool_[v].data.size;
    pool_.release(v);
  }

  std::uint32_t new_bucket(std::uint64_t freq, std::uint32_t prev, std::uint32_t next) {
    std::uint32_t b;
    if (!free_buckets_.empty()) {
      b = free_buckets_.back();
      free_buckets_.pop_back();
      buckets_[b] = bucket{};
    } else {
      b = static_cast<std::uint32_t>(buckets_.size());
      buckets_.emplace_back();
    }
    buckets_[b].freq = freq;
    buckets_[b].prev = prev;
    buckets_[b].next = next;
    if (prev != nil) buckets_[prev].next = b; else first_ = b;
    if (next != nil) buckets_[next].prev = b;
    return b;
  }

  void drop_bucket(std::uint32_t b) {
    const bucket& k = buckets_[b];
    if (k.prev != nil) buckets_[k.prev].next = k.next; else first_ = k.next;
    if (k.next != nil) buckets_[k.next].prev = k.prev;
    free_buckets_.push_back(b);
  }

  std::uint64_t capacity_;
  std::uint64_t occupied_ = 0;
  node_pool<entry> pool_;
  std::vector<bucket> buckets_;
  std::vector<std::uint32_t> free_buckets_;
  std::uint32_t first_ = nil;  // lowest non-empty frequency
  flat_map index_;
};

}  // namespace

std::unique_ptr<exact_policy> make_lfu(std::uint64_t capacity) { return std::make_unique<lfu>(capacity); }

}  // namespace belady::replay
