#include <belady/belady.hpp>

#include <cstdio>
#include <vector>

int main() {
  belady::cache<std::uint64_t, float> cache({.capacity = 256, .dim = 2, .executor = belady::backend::host});
  const std::vector<std::uint64_t> keys{1, 2, 3};
  const std::vector<float> values{1, 1, 2, 2, 3, 3};
  cache.insert_or_assign(keys, values);
  std::vector<float> out(6);
  bool found[3] = {};
  const std::size_t hits = cache.find(keys, out, found);
  std::printf("consumer: %zu hits\n", hits);
  return hits == 3 && out == values ? 0 : 1;
}
