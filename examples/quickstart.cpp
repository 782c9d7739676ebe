// The README's usage example, compiled and run by ctest so that it stays true.
#include <belady/belady.hpp>

#include <cstdio>
#include <vector>

int main() {
  belady::cache<std::uint64_t, float> cache({.capacity = 1 << 16, .dim = 4, .eviction = belady::policy::lru});
  std::vector<std::uint64_t> keys{7, 42, 1234};
  std::vector<float> values(keys.size() * cache.dim(), 0.5f);
  cache.insert_or_assign(keys, values);                    // stores 3 vectors of 4 floats

  std::vector<float> out(values.size());
  bool found[3];
  std::size_t hits = cache.find(keys, out, found);         // 3 hits, out == values
  std::printf("%zu hits on the %s backend, load factor %.6f\n", hits,
              belady::to_string(cache.executor()).data(), cache.load_factor());
  return hits == 3 && out == values ? 0 : 1;
}
