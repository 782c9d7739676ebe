#pragma once
/// @file
/// Key and value element types, reserved keys, and the stream handle.
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string_view>
#include <type_traits>

#if defined(__GNUC__)
#define BELADY_API __attribute__((visibility("default")))
#else
#define BELADY_API
#endif

struct CUstream_st;  // cudaStream_t is CUstream_st*; declared here so no CUDA header is needed.

namespace belady {

/// 16-bit IEEE half precision, stored as bits. The cache copies values and never does arithmetic
/// on them, so it needs only the width; it is layout-compatible with CUDA's __half.
struct half {
  std::uint16_t bits;
};
/// bfloat16, stored as bits; layout-compatible with CUDA's __nv_bfloat16.
struct bfloat16 {
  std::uint16_t bits;
};

/// Element type of the stored vectors.
enum class dtype : std::uint8_t { float32, float16, bfloat16, int8, bytes };

[[nodiscard]] constexpr std::string_view to_string(dtype t) noexcept {
  switch (t) {
    case dtype::float32: return "float32";
    case dtype::float16: return "float16";
    case dtype::bfloat16: return "bfloat16";
    case dtype::int8: return "int8";
    case dtype::bytes: return "bytes";
  }
  return "unknown";
}

template <class T>
struct dtype_of;
template <>
struct dtype_of<float> : std::integral_constant<dtype, dtype::float32> {};
template <>
struct dtype_of<half> : std::integral_constant<dtype, dtype::float16> {};
template <>
struct dtype_of<bfloat16> : std::integral_constant<dtype, dtype::bfloat16> {};
template <>
struct dtype_of<std::int8_t> : std::integral_constant<dtype, dtype::int8> {};
template <>
struct dtype_of<std::byte> : std::integral_constant<dtype, dtype::bytes> {};
template <class T>
inline constexpr dtype dtype_of_v = dtype_of<T>::value;

[[nodiscard]] constexpr std::size_t size_of(dtype t) noexcept {
  return t == dtype::float32 ? 4 : (t == dtype::float16 || t == dtype::bfloat16) ? 2 : 1;
}

template <class Key>
concept cache_key = std::is_same_v<Key, std::uint64_t> || std::is_same_v<Key, std::uint32_t>;

template <class T>
concept cache_value = requires { dtype_of<T>::value; };

/// The key value that marks an empty slot. It cannot be stored; passing it is an error.
template <cache_key Key>
inline constexpr Key empty_key = std::numeric_limits<Key>::max();
/// Reserved for the cache's internal use (an in-flight slot); passing it is an error.
template <cache_key Key>
inline constexpr Key reclaim_key = std::numeric_limits<Key>::max() - 1;

template <cache_key Key>
[[nodiscard]] constexpr bool is_reserved_key(Key k) noexcept {
  return k >= reclaim_key<Key>;
}

/// A non-owning, strongly typed stream handle. Default: the CUDA default stream. The host
/// backend ignores it (its operations complete before they return).
class stream_view {
 public:
  constexpr stream_view() noexcept = default;
  constexpr stream_view(CUstream_st* s) noexcept : stream_(s) {}  // NOLINT: implicit on purpose
  stream_view(int) = delete;  // `0` and `nullptr` as a stream are ambiguous: use stream_view{}
  stream_view(std::nullptr_t) = delete;
  [[nodiscard]] constexpr CUstream_st* value() const noexcept { return stream_; }

 private:
  CUstream_st* stream_ = nullptr;
};

}  // namespace belady
