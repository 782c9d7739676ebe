#pragma once
// Replays a trace through the real belady::cache (either backend) in batches, as a read-through
// cache would serve it: find the batch, count misses, insert the missing keys.
#include <cstdint>
#include <string>
#include <vector>

#include "belady/cache.hpp"
#include "belady/config.hpp"
#include "belady/model/model.hpp"
#include "request.hpp"

namespace belady::replay {

struct cache_engine_options {
  std::uint64_t capacity = 0;      ///< objects
  std::uint32_t bucket_size = 128;  ///< preferred; see effective_bucket_size
  belady::policy eviction = belady::policy::lru;
  belady::backend executor = belady::backend::host;
  std::size_t batch = 1;
  std::uint32_t host_threads = 1;
  // policy::learned
  const belady::model::model_params* model = nullptr;  ///< installed before replay; none: LRU order
  std::uint32_t learned_candidates = 16;
  bool learned_admission = false;
  std::size_t candidate_log = 0;  ///< > 0: log eviction candidates and each request's tick
  /// Online learning (learned only): the cache learns during the replay, in manual mode, with
  /// online_step() every `online_step_every` requests, so logical time drives the cadence and a
  /// run is reproducible from online.seed.
  bool online = false;
  belady::online_config online_config{};
  std::size_t online_step_every = 1000;
};

struct cache_engine_result {
  std::uint64_t requests = 0;
  std::uint64_t misses = 0;
  std::uint64_t slots = 0;          ///< the table's capacity in slots
  std::uint32_t bucket_size = 0;    ///< slots per bucket actually used
  std::uint64_t reserved_keys_remapped = 0;
  double seconds = 0;
  // With candidate_log: the logged candidates and, per request, the tick of its find.
  belady::eviction_candidates<std::uint64_t> candidates;
  std::vector<std::uint64_t> request_ticks;
  belady::online_report online;  ///< with options.online
};

/// The key the engine stores for a trace key (the cache reserves two key values).
std::uint64_t cache_key_of(std::uint64_t trace_key);

/// The bucket size the engine uses for `capacity`: the largest divisor of capacity in
/// [preferred / 2, preferred], so the table holds exactly `capacity` slots; when there is none,
/// `preferred` (and the capacity is rounded down to whole buckets).
std::uint32_t effective_bucket_size(std::uint64_t capacity, std::uint32_t preferred);

/// Within a batch, the first occurrence of a key is served by the cache (hit or miss); later
/// occurrences in the same batch are hits (they wait on the same fill, as a server coalesces
/// concurrent requests for one key). With batch = 1 this is plain sequential replay.
cache_engine_result replay_cache(const std::vector<request>& trace, const cache_engine_options& options);

}  // namespace belady::replay
