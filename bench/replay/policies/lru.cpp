// LRU: evict the least recently used object.
#include "../dlist.hpp"
#include "../exact_policy.hpp"
#include "../flat_map.hpp"

namespace belady::replay {
namespace {

struct entry {
  std::uint64_t key;
  std::uint32_t size;
};

class lru final : public exact_policy {
 public:
  explicit lru(std::uint64_t capacity) : capacity_(capacity) {}

  bool access(const request& r) override {
    const std::uint32_t i = index_.find(r.key);
    if (i != flat_map::absent) {
      order_.move_to_front(pool_, i);
      return true;
    }
    if (r.size > capacity_) return false;
    while (occupied_ + r.size > capacity_) evict();
    const std::uint32_t n = pool_.allocate({r.key, r.size});
    order_.push_front(pool_, n);
    index_.set(r.key, n);
    occupied_ += r.size;
    return false;
  }
  [[nodiscard]] std::string_view name() const override { return "lru"; }
  [[nodiscard]] std::uint64_t occupied() const override { return occupied_; }

 private:
  void evict() {
    const std::uint32_t v = order_.tail();
    order_.unlink(pool_, v);
    index_.erase(pool_[v].data.key);
    occupied_ -= pool_[v].data.size;
    pool_.release(v);
  }

  std::uint64_t capacity_;
  std::uint64_t occupied_ = 0;
  node_pool<entry> pool_;
  dlist<entry> order_;
  flat_map index_;
};

}  // namespace

std::unique_ptr<exact_policy> make_lru(std::uint64_t capacity) { return std::make_unique<lru>(capacity); }

}  // namespace belady::replay
