#pragma once
// One request of a trace, as the replay lab sees it.
#include <cstdint>
#include <vector>

namespace belady::replay {

struct request {
  std::uint64_t key = 0;
  std::uint32_t size = 1;          ///< bytes when the trace carries sizes, else 1
  std::int64_t next_access = -1;   ///< index of the next request of the same key; -1 = never
};

/// Fills next_access for every request (what Belady's OPT needs). One backward pass.
void annotate_next_access(std::vector<request>& trace);

/// Replaces every size by 1 (capacity then counts objects).
void make_unit_size(std::vector<request>& trace);

}  // namespace belady::replay
