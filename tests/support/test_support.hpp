#pragma once
// Helpers shared by the cache tests: run-time scaling, value construction for every element
// type, byte-exact entries, whole-table export, and backend parameterisation.
#include <gtest/gtest.h>

#include <algorithm>
#include <belady/belady.hpp>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <ostream>
#include <span>
#include <string>
#include <vector>

#include "support/device_buffer.hpp"

namespace belady_test {

/// BELADY_TEST_SCALE (default 1): the sanitizer presets set it below 1 to shorten long tests.
inline double test_scale() {
  static const double scale = [] {
    const char* s = std::getenv("BELADY_TEST_SCALE");
    if (s == nullptr || *s == '\0') return 1.0;
    const double v = std::strtod(s, nullptr);
    return v > 0 ? std::min(v, 100.0) : 1.0;
  }();
  return scale;
}

/// `n` scaled by BELADY_TEST_SCALE, never below `floor`.
inline std::size_t scaled(std::size_t n, std::size_t floor = 1) {
  return std::max(floor, static_cast<std::size_t>(static_cast<double>(n) * test_scale()));
}

/// A deterministic element made from an integer. Distinct small integers give distinct elements
/// for every type (modulo the type's width); copies are compared bitwise, never numerically.
template <class T>
T element_from(std::uint64_t x) {
  if constexpr (std::is_same_v<T, float>) {
    return static_cast<float>(static_cast<std::int64_t>(x % 2000003) - 1000001) / 4.0f;
  } else if constexpr (std::is_same_v<T, belady::half> || std::is_same_v<T, belady::bfloat16>) {
    return T{static_cast<std::uint16_t>(x * 0x9e37u + (x >> 16))};
  } else if constexpr (std::is_same_v<T, std::int8_t>) {
    return static_cast<std::int8_t>(static_cast<std::uint8_t>(x * 151u + 7u));
  } else {
    static_assert(std::is_same_v<T, std::byte>);
    return static_cast<std::byte>(x * 151u + 7u);
  }
}

/// A value vector of `dim` elements derived from `seed` (element j from seed * 1009 + j).
template <class T>
std::vector<T> value_from(std::uint64_t seed, std::size_t dim) {
  std::vector<T> v(dim);
  for (std::size_t j = 0; j < dim; ++j) v[j] = element_from<T>(seed * 1009 + j);
  return v;
}

template <class T>
std::vector<std::uint8_t> bytes_of(const T* p, std::size_t n) {
  const auto* first = reinterpret_cast<const std::uint8_t*>(p);
  return std::vector<std::uint8_t>(first, first + n * sizeof(T));
}

/// One stored (or handed back) entry, byte-exact, comparable and printable for any key/value type.
struct entry {
  std::uint64_t key = 0;
  std::vector<std::uint8_t> bytes;
  std::uint64_t score = 0;
  friend bool operator==(const entry&, const entry&) = default;
  friend auto operator<=>(const entry&, const entry&) = default;
  friend std::ostream& operator<<(std::ostream& os, const entry& e) {
    os << "{key " << e.key << ", score " << e.score << ", bytes";
    for (std::size_t i = 0; i < e.bytes.size() && i < 16; ++i) os << ' ' << static_cast<int>(e.bytes[i]);
    if (e.bytes.size() > 16) os << " ...";
    return os << '}';
  }
};

template <class T>
entry make_entry(std::uint64_t key, const T* value, std::size_t dim, std::uint64_t score) {
  return entry{key, bytes_of(value, dim), score};
}

inline std::vector<entry> sorted(std::vector<entry> v) {
  std::sort(v.begin(), v.end());
  return v;
}

/// Entries of slots [offset, offset + count) in the order export_batch wrote them.
template <class Key, class T>
std::vector<entry> export_range(const belady::cache<Key, T>& c, std::size_t offset, std::size_t count) {
  const std::size_t dim = c.dim();
  buffer<Key> keys(count);
  buffer<T> values(count * dim);
  buffer<std::uint64_t> scores(count);
  const std::size_t n = c.export_batch(offset, count, keys, values, scores);
  std::vector<entry> out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) out.push_back(make_entry(keys[i], values.data() + i * dim, dim, scores[i]));
  return out;
}

/// Every stored entry, sorted (keys, values, scores), exported in chunks of `chunk` slots.
template <class Key, class T>
std::vector<entry> export_all(const belady::cache<Key, T>& c, std::size_t chunk = 0) {
  if (chunk == 0) chunk = c.capacity();
  std::vector<entry> all;
  for (std::size_t off = 0; off < c.capacity(); off += chunk) {
    auto part = export_range(c, off, chunk);
    all.insert(all.end(), part.begin(), part.end());
  }
  return sorted(std::move(all));
}

inline bool backend_usable(belady::backend b) { return b != belady::backend::cuda || belady::cuda_backend_available(); }

inline std::string why_cuda_unavailable() {
  return belady::cuda_backend_built() ? "cuda backend built but no usable CUDA device here"
                                      : "this build has no cuda backend (BELADY_CUDA=OFF or no nvcc)";
}

/// Skips the current test when `b` cannot run here.
#define BELADY_SKIP_UNLESS_USABLE(b)                                                      \
  do {                                                                                    \
    if (!::belady_test::backend_usable(b))                                                \
      GTEST_SKIP() << "backend::cuda skipped: " << ::belady_test::why_cuda_unavailable(); \
  } while (0)

inline const std::vector<belady::backend>& all_backends() {
  static const std::vector<belady::backend> v{belady::backend::host, belady::backend::cuda};
  return v;
}

inline std::string backend_param_name(const ::testing::TestParamInfo<belady::backend>& info) {
  return std::string(belady::to_string(info.param));
}

}  // namespace belady_test

namespace belady {
inline void PrintTo(backend b, std::ostream* os) { *os << to_string(b); }
inline void PrintTo(policy p, std::ostream* os) { *os << to_string(p); }
}  // namespace belady

#include <belady/detail/hash.hpp>

namespace belady_test {

/// `n` distinct keys (from `first` upwards, stepping by `stride`) of which no bucket of a table
/// with `buckets` buckets receives more than `per_bucket`: inserting them evicts nothing.
template <class Key>
std::vector<Key> keys_that_fit(std::size_t n, std::uint64_t buckets, std::uint32_t per_bucket, std::uint64_t first = 1,
                               std::uint64_t stride = 1) {
  std::vector<Key> keys;
  std::vector<std::uint32_t> load(buckets, 0);
  for (std::uint64_t k = first; keys.size() < n; k += stride) {
    const std::uint64_t b = belady::detail::bucket_of(belady::detail::mix64(k), buckets);
    if (load[b] < per_bucket) {
      ++load[b];
      keys.push_back(static_cast<Key>(k));
    }
  }
  return keys;
}

}  // namespace belady_test
