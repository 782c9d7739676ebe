#pragma once
// The device side of the tile interface (see include/belady/detail/tile.hpp): a warp tile of
// `N` threads cooperates on one key. Members are __host__ __device__ so that the per-key
// functors (BELADY_HD) compile in nvcc's host pass too; they only run on the device.
#include <cooperative_groups.h>

#include <cstddef>
#include <cstdint>

namespace belady::detail {

template <unsigned N>
struct device_tile {
  static constexpr std::uint32_t size = N;
  cooperative_groups::thread_block_tile<N> group;

  __host__ __device__ std::uint32_t rank() const {
#if defined(__CUDA_ARCH__)
    return group.thread_rank();
#else
    return 0;
#endif
  }
  __host__ __device__ std::uint32_t ballot(bool p) const {
#if defined(__CUDA_ARCH__)
    return group.ballot(p);
#else
    return p ? 1u : 0u;
#endif
  }
  template <class T>
  __host__ __device__ T shfl(T v, std::uint32_t src) const {
#if defined(__CUDA_ARCH__)
    return group.shfl(v, src);
#else
    (void)src;
    return v;
#endif
  }
  template <class T>
  __host__ __device__ T shfl_xor(T v, std::uint32_t mask) const {
#if defined(__CUDA_ARCH__)
    return group.shfl_xor(v, mask);
#else
    (void)mask;
    return v;
#endif
  }
  __host__ __device__ void sync() const {
#if defined(__CUDA_ARCH__)
    group.sync();
#endif
  }
  /// Lanes copy a value together: 16-byte words when both ends allow it, else 4-byte, else bytes.
  __host__ __device__ void copy(std::byte* dst, const std::byte* src, std::size_t bytes) const {
    const auto bits = reinterpret_cast<std::uintptr_t>(dst) | reinterpret_cast<std::uintptr_t>(src) | bytes;
    const std::uint32_t r = rank();
    if ((bits & 15) == 0) {
      auto* d = reinterpret_cast<uint4*>(dst);
      const auto* s = reinterpret_cast<const uint4*>(src);
      for (std::size_t w = r; w < bytes / 16; w += N) d[w] = s[w];
    } else if ((bits & 3) == 0) {
      auto* d = reinterpret_cast<std::uint32_t*>(dst);
      const auto* s = reinterpret_cast<const std::uint32_t*>(src);
      for (std::size_t w = r; w < bytes / 4; w += N) d[w] = s[w];
    } else {
      for (std::size_t b = r; b < bytes; b += N) dst[b] = src[b];
    }
  }
};

}  // namespace belady::detail
