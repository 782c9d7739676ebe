// CLOCK (second chance) with a 1-bit reference counter, as libCacheSim's Clock with its default
// n-bit-counter=1: a hit sets the bit; the victim search starts at the oldest object, and an
// object with its bit set has it cleared and is re-queued as the newest instead of leaving.
// Newcomers enter with the bit clear. (A circular buffer with a hand behaves identically: the
// hand passes over re-queued objects and newcomers land just behind it.)
#include "../dlist.hpp"
#include "../exact_policy.hpp"
#include "../flat_map.hpp"

namespace belady::replay {
namespace {

struct entry {
  std::uint64_t key;
  std::uint32_t size;
  bool referenced;
};

class clock_policy final : public exact_policy {
 public:
  explicit clock_policy(std::uint64_t capacity) : capacity_(capacity) {}

  bool access(const request& r) override {
    const std::uint32_t i = index_.find(r.key);
    if (i != flat_map::absent) {
      pool_[i].data.referenced = true;
      return true;
    }
    if (r.size > capacity_) return false;
    while (occupied_ + r.size > capacity_) evict();
    const std::uint32_t n = pool_.allocate({r.key, r.size, false});
    ring_.push_front(pool_, n);
    index_.set(r.key, n);
    occupied_ += r.size;
    return false;
  }
  [[nodiscard]] std::string_view name() const override { return "clock"; }
  [[nodiscard]] std::uint64_t occupied() const override { return occupied_; }

 private:
  void evict() {
    std::uint32_t v = ring_.tail();
    while (pool_[v].data.referenced) {  // terminates: each pass clears the bit it sees
      pool_[v].data.referenced = false;
      ring_.move_to_front(pool_, v);
      v = ring_.tail();
    }
    ring_.unlink(pool_, v);
    index_.erase(pool_[v].data.key);
    occupied_ -= pool_[v].data.size;
    pool_.release(v);
  }

  std::uint64_t capacity_;
  std::uint64_t occupied_ = 0;
  node_pool<entry> pool_;
  dlist<entry> ring_;  // head = newest (just behind the hand), tail = under the hand
  flat_map index_;
};

}  // namespace

std::unique_ptr<exact_policy> make_clock(std::uint64_t capacity) {
  return std::make_unique<clock_policy>(capacity);
}

}  // namespace belady::replay
