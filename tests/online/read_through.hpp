#pragma once
// The online tests' cache and client: a small learned cache, and a read-through user of it.
#include <belady/belady.hpp>
#include <cstdint>

namespace belady::online_test {

using cache_t = belady::cache<std::uint64_t, float>;

/// A small learned cache on one host worker (deterministic), learning online in manual mode.
inline cache_config online_config(std::size_t capacity, double rate) {
  cache_config c;
  c.capacity = capacity;
  c.dim = 1;
  c.bucket_size = 64;
  c.eviction = policy::learned;
  c.executor = backend::host;
  c.host_threads = 1;
  c.online.enabled = true;
  c.online.manual = true;
  c.online.sample_rate = rate;
  return c;
}

/// Finds one key; on a miss inserts it. Returns whether it hit.
inline bool serve(cache_t& c, std::uint64_t key) {
  const std::uint64_t k[1] = {key};
  float v[1] = {0};
  bool found[1] = {false};
  if (c.find(k, v, found) == 1) return true;
  v[0] = float(key);
  (void)c.insert_or_assign(k, v);
  return false;
}

}  // namespace belady::online_test
