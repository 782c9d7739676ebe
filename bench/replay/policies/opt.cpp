// Belady's OPT: evict the object whose next request lies furthest in the future (never-again
// objects first). Offline: reads request::next_access. As in libCacheSim, room is made before the
// newcomer is inserted, so the newcomer itself is never the victim.
#include <set>
#include <unordered_map>

#include "../exact_policy.hpp"

namespace belady::replay {
namespace {

class opt final : public exact_policy {
 public:
  explicit opt(std::uint64_t capacity) : capacity_(capacity) {}

  bool access(const request& r) override {
    const std::int64_t next = r.next_access < 0 ? never : r.next_access;
    if (auto it = resident_.find(r.key); it != resident_.end()) {
      by_next_.erase({it->second.next, r.key});
      it->second.next = next;
      by_next_.insert({next, r.key});
      return true;
    }
    if (r.size > capacity_) return false;
    while (occupied_ + r.size > capacity_) {
      auto victim = std::prev(by_next_.end());
      auto res = resident_.find(victim->second);
      occupied_ -= res->second.size;
      resident_.erase(res);
      by_next_.erase(victim);
    }
    resident_.emplace(r.key, slot{next, r.size});
    by_next_.insert({next, r.key});
    occupied_ += r.size;
    return false;
  }
  [[nodiscard]] std::string_view name() const override { return "opt"; }
  [[nodiscard]] std::uint64_t occupied() const override { return occupied_; }

 private:
  // Never-again objects share one "infinite" time; the key in the pair keeps them apart.
  static constexpr std::int64_t never = std::int64_t{1} << 62;
  struct slot {
    std::int64_t next;
    std::uint32_t size;
  };
  std::uint64_t capacity_;
  std::uint64_t occupied_ = 0;
  std::unordered_map<std::uint64_t, slot> resident_;
  std::set<std::pair<std::int64_t, std::uint64_t>> by_next_;
};

}  // namespace

std::unique_ptr<exact_policy> make_opt(std::uint64_t capacity) { return std::make_unique<opt>(capacity); }

}  // namespace belady::replay
