#pragma once
// The tile interface that cooperative probing is written against. A tile is the group of threads
// that serves one key: a warp tile on the device (cuda/device_tile.cuh), a single thread here.
// Algorithms loop `for (s = rank(); s < slots; s += size)` and combine with ballot/shfl, so the
// same code is sequential on the host and cooperative on the device.
#include <bit>
#include <cstdint>
#include <cstring>

#include "belady/detail/macros.hpp"

namespace belady::detail {

struct host_tile {
  static constexpr std::uint32_t size = 1;
  [[nodiscard]] std::uint32_t rank() const { return 0; }
  [[nodiscard]] std::uint32_t ballot(bool p) const { return p ? 1u : 0u; }
  template <class T>
  [[nodiscard]] T shfl(T v, std::uint32_t /*src*/) const {
    return v;
  }
  template <class T>
  [[nodiscard]] T shfl_xor(T v, std::uint32_t /*mask*/) const {
    return v;
  }
  void sync() const {}
  static void copy(std::byte* dst, const std::byte* src, std::size_t bytes) {
    // find_or_insert may copy a row onto itself (in- and output share a buffer): memcpy with
    // identical pointers is undefined, so skip it.
    if (dst != src) std::memcpy(dst, src, bytes);
  }
};

/// Index of the lowest set bit (mask != 0).
BELADY_HD BELADY_INLINE std::uint32_t first_set(std::uint32_t mask) {
#if BELADY_ON_DEVICE
  return static_cast<std::uint32_t>(__ffs(static_cast<int>(mask)) - 1);
#else
  return static_cast<std::uint32_t>(std::countr_zero(mask));
#endif
}

/// Index of the lowest set bit of a 64-bit word (mask != 0).
BELADY_HD BELADY_INLINE std::uint32_t first_set64(std::uint64_t mask) {
#if BELADY_ON_DEVICE
  return static_cast<std::uint32_t>(__ffsll(static_cast<long long>(mask)) - 1);
#else
  return static_cast<std::uint32_t>(std::countr_zero(mask));
#endif
}

/// Number of set bits.
BELADY_HD BELADY_INLINE std::uint32_t bit_count(std::uint32_t mask) {
#if BELADY_ON_DEVICE
  return static_cast<std::uint32_t>(__popc(mask));
#else
  return static_cast<std::uint32_t>(std::popcount(mask));
#endif
}

}  // namespace belady::detail
