#include "cache_engine.hpp"

#include <algorithm>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <unordered_set>

#include "belady/cache.hpp"
#include "belady/model/registry.hpp"
#include "belady/detail/hash.hpp"

namespace belady::replay {

std::uint32_t effective_bucket_size(std::uint64_t capacity, std::uint32_t preferred) {
  for (std::uint32_t b = preferred; b >= std::max<std::uint32_t>(1, preferred / 2); --b)
    if (capacity % b == 0) return b;
  return preferred;
}

std::uint64_t cache_key_of(std::uint64_t k) {
  return belady::is_reserved_key(k) ? belady::detail::mix64(k) : k;  // a bijection moves them
}

cache_engine_result replay_cache(const std::vector<request>& trace, const cache_engine_options& o) {
  if (o.capacity == 0) throw std::invalid_argument("cache engine: capacity must be at least 1");
  if (o.batch == 0) throw std::invalid_argument("cache engine: batch must be at least 1");
  cache_engine_result res;
  res.bucket_size = effective_bucket_size(o.capacity, o.bucket_size);
  const std::uint64_t slots = std::max<std::uint64_t>(o.capacity / res.bucket_size, 1) * res.bucket_size;
  if (o.executor == belady::backend::cuda)
    throw std::invalid_argument("cache engine: the cuda backend needs device buffers; replay on cuda is not wired yet");
  belady::cache_config config{.capacity = slots,
                              .dim = 1,
                              .bucket_size = res.bucket_size,
                              .eviction = o.eviction,
                              .executor = o.executor,
                              .host_threads = o.host_threads,
                              .learned_candidates = o.learned_candidates,
                              .learned_admission = o.learned_admission};
  if (o.online) {
    if (o.eviction != belady::policy::learned) throw std::invalid_argument("cache engine: --online needs --policy learned");
    config.online = o.online_config;
    config.online.enabled = true;
    config.online.manual = true;
  }
  belady::cache<std::uint64_t, std::byte> cache(config);
  res.slots = cache.capacity();
  if (o.eviction == belady::policy::learned) {
    if (o.model != nullptr) cache.models().install(*o.model);
    if (o.candidate_log > 0) {
      cache.set_candidate_log(o.candidate_log);
      res.request_ticks.resize(trace.size());
    }
  }

  std::vector<std::uint64_t> unique_keys, miss_keys;
  std::vector<std::byte> values, miss_values;
  std::unique_ptr<bool[]> found(new bool[o.batch]);
  std::unordered_set<std::uint64_t> seen;
  std::vector<std::uint64_t> scores;
  const auto start = std::chrono::steady_clock::now();
  std::size_t next_step = o.online_step_every;
  for (std::size_t b = 0; b < trace.size(); b += o.batch) {
    const std::size_t n = std::min(o.batch, trace.size() - b);
    if (o.online && b >= next_step) {
      cache.online_step();
      next_step = b + std::max<std::size_t>(o.online_step_every, 1);
    }
    unique_keys.clear();
    seen.clear();
    for (std::size_t i = 0; i < n; ++i) {
      const std::uint64_t k = cache_key_of(trace[b + i].key);
      if (k != trace[b + i].key) ++res.reserved_keys_remapped;
      if (n == 1 || seen.insert(k).second) unique_keys.push_back(k);
    }
    values.resize(unique_keys.size());
    cache.find(unique_keys, values, std::span<bool>(found.get(), unique_keys.size()));
    if (!res.request_ticks.empty())
      for (std::size_t i = 0; i < n; ++i) res.request_ticks[b + i] = cache.now();
    miss_keys.clear();
    for (std::size_t i = 0; i < unique_keys.size(); ++i)
      if (!found[i]) miss_keys.push_back(unique_keys[i]);
    res.misses += miss_keys.size();
    if (!miss_keys.empty()) {
      miss_values.assign(miss_keys.size(), std::byte{1});
      if (o.eviction == belady::policy::custom) {
        scores.assign(miss_keys.size(), b);
        cache.insert_or_assign(miss_keys, miss_values, scores);
      } else {
        cache.insert_or_assign(miss_keys, miss_values);
      }
    }
  }
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  res.requests = trace.size();
  if (!res.request_ticks.empty()) res.candidates = cache.take_candidate_log();
  if (o.online) {
    cache.online_step();
    res.online = cache.online_status();
  }
  return res;
}

}  // namespace belady::replay
