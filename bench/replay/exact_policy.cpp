#include "exact_policy.hpp"

#include <stdexcept>

namespace belady::replay {

const std::vector<std::string>& exact_policy_names() {
  static const std::vector<std::string> names{"lru",  "fifo",   "lfu",   "clock",    "arc", "2q",
                                              "lirs", "s3fifo", "sieve", "wtinylfu", "opt"};
  return names;
}

std::unique_ptr<exact_policy> make_exact_policy(std::string_view name, std::uint64_t capacity) {
  if (capacity == 0) throw std::invalid_argument("capacity must be at least 1");
  if (name == "lru") return make_lru(capacity);
  if (name == "fifo") return make_fifo(capacity);
  if (name == "lfu") return make_lfu(capacity);
  if (name == "clock") return make_clock(capacity);
  if (name == "arc") return make_arc(capacity);
  if (name == "2q" || name == "twoq") return make_twoq(capacity);
  if (name == "lirs") return make_lirs(capacity);
  if (name == "s3fifo") return make_s3fifo(capacity);
  if (name == "sieve") return make_sieve(capacity);
  if (name == "wtinylfu") return make_wtinylfu(capacity);
  if (name == "opt" || name == "belady") return make_opt(capacity);
  std::string known;
  for (const auto& n : exact_policy_names()) known += (known.empty() ? "" : ", ") + n;
  throw std::invalid_argument("unknown policy '" + std::string(name) + "' (known: " + known + ")");
}

std::uint64_t count_misses(exact_policy& p, const std::vector<request>& trace) {
  std::uint64_t misses = 0;
  for (const request& r : trace) misses += p.access(r) ? 0 : 1;
  return misses;
}

}  // namespace belady::replay
