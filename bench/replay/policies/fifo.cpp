// FIFO: evict the object admitted earliest; hits change nothing (libCacheSim FIFO).
#include "../dlist.hpp"
#include "../exact_policy.hpp"
#include "../flat_map.hpp"

namespace belady::replay {
namespace {

struct entry {
  std::uint64_t key;
  std::uint32_t size;
};

class fifo final : public exact_policy {
 public:
  explicit fifo(std::uint64_t capacity) : capacity_(capacity) {}

  bool access(const request& r) override {
    if (index_.find(r.key) != flat_map::absent) return true;
    if (r.size > capacity_) return false;
    while (occupied_ + r.size > capacity_) evict();
    const std::uint32_t n = pool_.allocate({r.key, r.size});
    queue_.push_front(pool_, n);
    index_.set(r.key, n);
    occupied_ += r.size;
    return false;
  }
  [[nodiscard]] std::string_view name() const override { return "fifo"; }
  [[nodiscard]] std::uint64_t occupied() const override { return occupied_; }

 private:
  void evict() {
    const std::uint32_t v = queue_.tail();
    queue_.unlink(pool_, v);
    index_.erase(pool_[v].data.key);
    occupied_ -= pool_[v].data.size;
    pool_.release(v);
  }

  std::uint64_t capacity_;
  std::uint64_t occupied_ = 0;
  node_pool<entry> pool_;
  dlist<entry> queue_;  // head = newest admission, tail = next victim
  flat_map index_;
};

}  // namespace

std::unique_ptr<exact_policy> make_fifo(std::uint64_t capacity) { return std::make_unique<fifo>(capacity); }

}  // namespace belady::replay
