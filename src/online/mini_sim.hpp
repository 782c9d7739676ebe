#pragma once
// A miniature simulation (Waldspurger et al., ATC'17): a small real belady::cache of capacity
// C x sampling rate, fed the sampled requests at their original logical times. Spatial sampling
// keeps every access of a sampled key, so the miniature's miss ratio estimates the full cache's.
#include <cstdint>
#include <memory>
#include <vector>

#include "belady/cache.hpp"
#include "belady/model/model.hpp"

namespace belady::online {

struct mini_sim_options {
  std::uint64_t capacity = 64;
  std::uint32_t bucket_size = 128;
  policy eviction = policy::learned;
  std::uint32_t candidates = 16;
  double decay_half_life = 1;
  bool admission = false;
  std::size_t candidate_log = 0;  ///< > 0: log eviction candidates (training data)
};

class mini_sim {
 public:
  /// `model`: installed and active when given (learned); none: LRU order.
  mini_sim(const mini_sim_options& o, const model::model_params* model);

  /// One request at the full cache's logical time `tick` (>= the previous one's; requests may
  /// share one): a find stamped `tick`, and on a miss an insert stamped tick + 1.
  /// Returns whether it hit.
  bool access(std::uint64_t key, std::uint64_t tick);

  /// The requests of one batch of the full cache, all at `tick`: one find of the batch, one
  /// insert of its misses at tick + 1 (as a read-through client serves them). hit[i] tells
  /// whether keys[i] hit.
  void access_batch(const std::uint64_t* keys, std::size_t n, std::uint64_t tick, bool* hit);

  /// Installs and activates `p` (learned only).
  void set_model(const model::model_params& p);
  [[nodiscard]] eviction_candidates<std::uint64_t> take_candidates();

  [[nodiscard]] std::uint64_t requests() const noexcept { return requests_; }
  [[nodiscard]] std::uint64_t misses() const noexcept { return misses_; }

 private:
  std::unique_ptr<cache<std::uint64_t, std::int8_t>> cache_;
  std::uint64_t requests_ = 0, misses_ = 0;
  std::vector<std::int8_t> values_;
  std::vector<std::uint64_t> miss_keys_;
};

/// The miniature capacity for a cache of `capacity` sampled at `rate`: at least 16 slots.
std::uint64_t mini_capacity(std::uint64_t capacity, double rate);

}  // namespace belady::online
