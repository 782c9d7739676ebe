#pragma once
/// @file
/// The one aggregate that configures a cache.
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace belady {

/// How slots are scored. A full bucket evicts its lowest-scored slot; with admission control a
/// newcomer scoring lower than every resident is refused instead.
enum class policy : std::uint8_t {
  lru,     ///< score = logical time of the last access (insert or hit)
  lfu,     ///< score = access count (high bits), ties broken by recency (low bits)
  fifo,    ///< score = logical time of insertion; hits do not change it
  custom,  ///< score supplied by the caller with every insert or assign
  learned, ///< a model predicts each candidate's next use at eviction time (LRU until one is active)
};

[[nodiscard]] constexpr std::string_view to_string(policy p) noexcept {
  switch (p) {
    case policy::lru: return "lru";
    case policy::lfu: return "lfu";
    case policy::fifo: return "fifo";
    case policy::custom: return "custom";
    case policy::learned: return "learned";
  }
  return "unknown";
}

/// Which executor runs the per-key code.
enum class backend : std::uint8_t {
  automatic,  ///< cuda when built and a device is present, host otherwise
  host,       ///< CPU threads; buffers are host memory
  cuda,       ///< CUDA kernels; buffers passed to operations are device (or managed) memory
};

[[nodiscard]] constexpr std::string_view to_string(backend b) noexcept {
  switch (b) {
    case backend::automatic: return "automatic";
    case backend::host: return "host";
    case backend::cuda: return "cuda";
  }
  return "unknown";
}

struct cache_config {
  /// Number of key slots. Rounded up to a whole number of buckets.
  std::size_t capacity = 0;
  /// Elements per value vector.
  std::size_t dim = 1;
  /// Slots per bucket (1..1024). A key may live in any slot of its bucket.
  std::uint32_t bucket_size = 128;
  policy eviction = policy::lru;
  backend executor = backend::automatic;
  /// Host backend worker threads (0: one per hardware thread). 1 gives a sequential,
  /// fully deterministic execution order.
  std::uint32_t host_threads = 0;
  /// CUDA device ordinal for the cuda backend.
  int device = 0;

  // policy::learned only
  /// Slots scored by the model when a bucket must evict: a strided sample of the bucket
  /// (1..bucket_size; clamped). Scoring all 128 slots costs more than it gains.
  std::uint32_t learned_candidates = 16;
  /// Admission control: refuse a newcomer predicted to be requested later than every candidate.
  bool learned_admission = false;
  /// Half-life of the decayed access counter feature, in logical ticks (0: capacity).
  double decay_half_life = 0;
};

}  // namespace belady
