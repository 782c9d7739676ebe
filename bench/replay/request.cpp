#include "request.hpp"

#include <unordered_map>

namespace belady::replay {

void annotate_next_access(std::vector<request>& trace) {
  std::unordered_map<std::uint64_t, std::int64_t> next;
  next.reserve(trace.size() / 2 + 16);
  for (std::int64_t i = static_cast<std::int64_t>(trace.size()) - 1; i >= 0; --i) {
    auto [it, inserted] = next.try_emplace(trace[i].key, -1);
    trace[i].next_access = it->second;
    it->second = i;
  }
}

void make_unit_size(std::vector<request>& trace) {
  for (auto& r : trace) r.size = 1;
}

}  // namespace belady::replay
