#include "online/mini_sim.hpp"

#include <algorithm>
#include <cmath>

#include "belady/model/registry.hpp"

namespace belady::online {

std::uint64_t mini_capacity(std::uint64_t capacity, double rate) {
  return std::max<std::uint64_t>(16, static_cast<std::uint64_t>(std::llround(double(capacity) * rate)));
}

mini_sim::mini_sim(const mini_sim_options& o, const model::model_params* model) {
  cache_config c;
  // Whole buckets of at most the full cache's size: the miniature keeps the same associativity
  // when it can, and is fully associative when it is smaller than one bucket.
  c.bucket_size = static_cast<std::uint32_t>(std::min<std::uint64_t>(o.bucket_size, o.capacity));
  c.capacity = o.capacity / c.bucket_size * c.bucket_size;
  c.dim = 1;
  c.eviction = o.eviction;
  c.executor = backend::host;
  c.host_threads = 1;  // deterministic, and the simulations are small
  c.learned_candidates = o.candidates;
  c.learned_admission = o.admission;
  c.decay_half_life = o.decay_half_life;  // in the full cache's ticks: the times are the full cache's
  cache_ = std::make_unique<cache<std::uint64_t, std::int8_t>>(c);
  if (o.eviction == policy::learned && model != nullptr) cache_->models().install(*model);
  if (o.candidate_log > 0) cache_->set_candidate_log(o.candidate_log);
}

bool mini_sim::access(std::uint64_t key, std::uint64_t tick) {
  // The full cache's time stamps: every request of one of its batches shares the batch's tick,
  // and the fill of a miss comes one tick later, as a read-through client's insert call does. So
  // recency, gaps and the order of ties are the full cache's, and the labels (next request tick -
  // eviction tick) line up with the features.
  tick = tick == 0 ? 1 : tick;
  cache_->set_clock(tick);
  const std::uint64_t k[1] = {key};
  std::int8_t v[1] = {0};
  bool found[1] = {false};
  ++requests_;
  if (cache_->find(k, v, found) == 1) return true;
  ++misses_;
  cache_->set_clock(tick + 1);
  (void)cache_->insert_or_assign(k, v);
  return false;
}

void mini_sim::access_batch(const std::uint64_t* keys, std::size_t n, std::uint64_t tick, bool* hit) {
  if (n == 0) return;
  if (n == 1) {
    hit[0] = access(keys[0], tick);
    return;
  }
  tick = tick == 0 ? 1 : tick;
  values_.assign(n, 0);
  cache_->set_clock(tick);
  const std::size_t hits = cache_->find(std::span<const std::uint64_t>(keys, n), values_, std::span<bool>(hit, n));
  requests_ += n;
  misses_ += n - hits;
  miss_keys_.clear();
  for (std::size_t i = 0; i < n; ++i)
    if (!hit[i]) miss_keys_.push_back(keys[i]);
  if (miss_keys_.empty()) return;
  values_.assign(miss_keys_.size(), 0);
  cache_->set_clock(tick + 1);
  (void)cache_->insert_or_assign(miss_keys_, values_);
}

void mini_sim::set_model(const model::model_params& p) { cache_->models().install(p); }

eviction_candidates<std::uint64_t> mini_sim::take_candidates() { return cache_->take_candidate_log(); }

}  // namespace belady::online
