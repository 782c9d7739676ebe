#pragma once
// The cache and contents shared by the snapshot tests and their child process: generation g
// stores keys 1..n with values made from (key, g), so a loaded snapshot tells which generation
// (and whether a mix) it holds.
#include <belady/belady.hpp>

#include <cstdint>
#include <vector>

namespace belady_test {

using snap_cache = belady::cache<std::uint64_t, float>;
inline constexpr std::size_t snap_dim = 64;
inline constexpr std::uint64_t snap_keys = 20'000;

inline snap_cache snapshot_cache() {
  belady::cache_config c;
  c.capacity = 1 << 15;
  c.dim = snap_dim;
  c.eviction = belady::policy::lru;
  c.executor = belady::backend::host;
  c.host_threads = 1;
  return snap_cache(c);
}

inline float snap_value(std::uint64_t key, int generation, std::size_t j) {
  // Below 2^17, so a float still resolves the quarter that tells the generations apart.
  return static_cast<float>((key % 1000) * 100 + j) + 0.25f * static_cast<float>(generation);
}

inline void fill_generation(snap_cache& c, int generation) {
  std::vector<std::uint64_t> keys;
  std::vector<float> values;
  for (std::uint64_t k = 1; k <= snap_keys; ++k) {
    keys.push_back(k);
    for (std::size_t j = 0; j < snap_dim; ++j) values.push_back(snap_value(k, generation, j));
  }
  c.insert_or_assign(keys, values);
}

/// Which generation every stored key holds: 0 or 1, -1 for a mix or a value of neither, -2 when
/// a key is missing.
inline int generation_of(snap_cache& c) {
  std::vector<std::uint64_t> keys;
  for (std::uint64_t k = 1; k <= snap_keys; ++k) keys.push_back(k);
  std::vector<float> values(keys.size() * snap_dim);
  std::vector<char> found_bytes(keys.size());
  std::span<bool> found(reinterpret_cast<bool*>(found_bytes.data()), keys.size());
  if (c.contains(keys, found) != keys.size()) return -2;
  c.find(keys, values, found);
  int seen = -3;
  for (std::size_t i = 0; i < keys.size(); ++i)
    for (std::size_t j = 0; j < snap_dim; ++j) {
      const float v = values[i * snap_dim + j];
      const int g = v == snap_value(keys[i], 0, j) ? 0 : v == snap_value(keys[i], 1, j) ? 1 : -1;
      if (g < 0 || (seen >= 0 && g != seen)) return -1;
      seen = g;
    }
  return seen;
}

}  // namespace belady_test
