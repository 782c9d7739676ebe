// Every key type x value type the library instantiates, on every backend: values round-trip
// bit-exactly through each operation, including the extreme valid keys.
#include <gtest/gtest.h>

#include "support/cache_harness.hpp"

namespace {

using belady::backend;
using belady::policy;
using belady_test::entry;

template <class K, class V, backend B>
struct combo {
  using key_type = K;
  using value_type = V;
  static constexpr backend executor = B;
};

template <class C>
class Types : public ::testing::Test {};

using all_combos = ::testing::Types<
    combo<std::uint32_t, float, backend::host>, combo<std::uint32_t, belady::half, backend::host>,
    combo<std::uint32_t, belady::bfloat16, backend::host>, combo<std::uint32_t, std::int8_t, backend::host>,
    combo<std::uint32_t, std::byte, backend::host>, combo<std::uint64_t, float, backend::host>,
    combo<std::uint64_t, belady::half, backend::host>, combo<std::uint64_t, belady::bfloat16, backend::host>,
    combo<std::uint64_t, std::int8_t, backend::host>, combo<std::uint64_t, std::byte, backend::host>,
    combo<std::uint32_t, float, backend::cuda>, combo<std::uint32_t, belady::half, backend::cuda>,
    combo<std::uint32_t, belady::bfloat16, backend::cuda>, combo<std::uint32_t, std::int8_t, backend::cuda>,
    combo<std::uint32_t, std::byte, backend::cuda>, combo<std::uint64_t, float, backend::cuda>,
    combo<std::uint64_t, belady::half, backend::cuda>, combo<std::uint64_t, belady::bfloat16, backend::cuda>,
    combo<std::uint64_t, std::int8_t, backend::cuda>, combo<std::uint64_t, std::byte, backend::cuda>>;

class combo_names {
 public:
  template <class C>
  static std::string GetName(int) {
    using K = typename C::key_type;
    using V = typename C::value_type;
    return std::string(sizeof(K) == 4 ? "u32_" : "u64_") + std::string(belady::to_string(belady::dtype_of_v<V>)) + "_" +
           std::string(belady::to_string(C::executor));
  }
};

TYPED_TEST_SUITE(Types, all_combos, combo_names);

TYPED_TEST(Types, ValuesRoundTripThroughEveryOperation) {
  using K = typename TypeParam::key_type;
  using V = typename TypeParam::value_type;
  BELADY_SKIP_UNLESS_USABLE(TypeParam::executor);
  constexpr std::size_t dim = 7;  // odd: rows of 2-byte and 1-byte types are not 4-byte multiples
  belady_test::harness<K, V> h(
      {.capacity = 512, .dim = dim, .bucket_size = 16, .eviction = policy::lru, .executor = TypeParam::executor});
  EXPECT_EQ(h.c.dim(), dim);
  EXPECT_EQ(belady::size_of(belady::dtype_of_v<V>), sizeof(V));

  // Key 0 and the largest valid key, among ordinary ones.
  auto keys = belady_test::keys_that_fit<K>(100, h.c.bucket_count(), 16, 1);
  keys[0] = 0;
  keys[1] = static_cast<K>(belady::reclaim_key<K> - 1);
  std::vector<std::uint64_t> ids(keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i) ids[i] = 1000 + i;
  const auto r = h.insert(keys, ids);  // t1
  ASSERT_EQ(r.inserted, 100u) << "keys 0 and max-2 must fit beside the others";

  auto f = h.find(keys);  // t2
  EXPECT_EQ(f.hits, 100u);
  for (std::size_t i = 0; i < keys.size(); ++i) EXPECT_EQ(f.rows[i], h.value(ids[i])) << "key " << keys[i];

  // Overwrite half, read back through find_or_insert (present keys return the stored value).
  std::vector<K> half(keys.begin(), keys.begin() + 50);
  std::vector<std::uint64_t> half_ids(50);
  for (std::size_t i = 0; i < 50; ++i) half_ids[i] = 5000 + i;
  EXPECT_EQ(h.assign(half, half_ids), 50u);                                            // t3
  const auto fo = h.find_or_insert(keys, std::vector<std::uint64_t>(keys.size(), 1));  // t4
  EXPECT_EQ(fo.hits, 100u);
  for (std::size_t i = 0; i < keys.size(); ++i) EXPECT_EQ(fo.rows[i], h.value(i < 50 ? half_ids[i] : ids[i]));

  // The whole table, exported.
  std::vector<entry> want;
  for (std::size_t i = 0; i < keys.size(); ++i) want.push_back(h.expected(keys[i], i < 50 ? half_ids[i] : ids[i], 4));
  EXPECT_EQ(h.all(), belady_test::sorted(want));

  // Erase and hand back: a one-bucket table evicts the least recent with its exact bytes.
  EXPECT_EQ(h.erase({keys[0], keys[1]}), 2u);
  EXPECT_EQ(h.c.size(), 98u);
  belady_test::harness<K, V> tiny(
      {.capacity = 2, .dim = dim, .bucket_size = 2, .eviction = policy::fifo, .executor = TypeParam::executor});
  tiny.insert({keys[1]}, {1});  // t1
  tiny.insert({keys[0]}, {2});  // t2
  const auto out = tiny.insert_and_evict({keys[2]}, {3});
  EXPECT_EQ(out.handed, std::vector<entry>{tiny.expected(keys[1], 1, 1)});
}

}  // namespace
