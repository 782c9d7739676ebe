#pragma once
// Key -> (bucket, digest). The bucket comes from the low bits of a 64-bit mix and the digest from
// the top byte, so the two are independent: keys that share a bucket rarely share a digest.
#include <cstdint>

#include "belady/detail/macros.hpp"

namespace belady::detail {

/// MurmurHash3's 64-bit finaliser: a bijection with full avalanche, cheap on both backends.
BELADY_HD BELADY_INLINE std::uint64_t mix64(std::uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdULL;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ULL;
  k ^= k >> 33;
  return k;
}

/// Multiply-shift range reduction: maps the low 32 bits uniformly to [0, n) without a division.
BELADY_HD BELADY_INLINE std::uint64_t bucket_of(std::uint64_t hash, std::uint64_t num_buckets) {
  return ((hash & 0xffffffffULL) * num_buckets) >> 32;
}

BELADY_HD BELADY_INLINE std::uint8_t digest_of(std::uint64_t hash) {
  return static_cast<std::uint8_t>(hash >> 56);
}

}  // namespace belady::detail
