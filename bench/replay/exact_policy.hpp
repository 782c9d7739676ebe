#pragma once
// Exact (fully associative) reference policies: the test oracles and the baselines the learned
// policy must beat. One request at a time; capacity in the same unit as request::size (objects
// when sizes are 1, bytes otherwise). Semantics follow libCacheSim: every miss inserts the object
// unless it is larger than the whole cache; metadata does not count against capacity.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "request.hpp"

namespace belady::replay {

class exact_policy {
 public:
  virtual ~exact_policy() = default;
  /// Serves one request; true on a hit. On a miss the object is admitted (policy permitting).
  virtual bool access(const request& r) = 0;
  [[nodiscard]] virtual std::string_view name() const = 0;
  /// Bytes (or objects) currently held.
  [[nodiscard]] virtual std::uint64_t occupied() const = 0;
};

// One factory per policy, each defined in its own file under policies/.
std::unique_ptr<exact_policy> make_lru(std::uint64_t capacity);
std::unique_ptr<exact_policy> make_fifo(std::uint64_t capacity);
std::unique_ptr<exact_policy> make_lfu(std::uint64_t capacity);
std::unique_ptr<exact_policy> make_clock(std::uint64_t capacity);
std::unique_ptr<exact_policy> make_arc(std::uint64_t capacity);
std::unique_ptr<exact_policy> make_twoq(std::uint64_t capacity);
std::unique_ptr<exact_policy> make_lirs(std::uint64_t capacity);
std::unique_ptr<exact_policy> make_s3fifo(std::uint64_t capacity);
std::unique_ptr<exact_policy> make_sieve(std::uint64_t capacity);
std::unique_ptr<exact_policy> make_wtinylfu(std::uint64_t capacity);
/// Belady's OPT: needs request::next_access (annotate_next_access).
std::unique_ptr<exact_policy> make_opt(std::uint64_t capacity);

/// By name: lru, fifo, lfu, clock, arc, 2q, lirs, s3fifo, sieve, wtinylfu, opt.
/// Throws std::invalid_argument naming the unknown policy and listing the known ones.
std::unique_ptr<exact_policy> make_exact_policy(std::string_view name, std::uint64_t capacity);
const std::vector<std::string>& exact_policy_names();

/// Replays `trace` through `p`; returns the number of misses.
std::uint64_t count_misses(exact_policy& p, const std::vector<request>& trace);

}  // namespace belady::replay
