// The cuda backend's per-key code paths, run on the host: every operation through the plain host
// backend (one lane per key) and through the host backend with the device's warp tile emulated
// (BELADY_HOST_EMULATE_TILE=32: 32 lanes in lockstep, src/host/lockstep_tile.hpp) must give the
// same results. The lane-strided probes, the ballots, the shuffle reductions that choose a victim
// and the lane-0 writes are otherwise only ever run on a GPU. Keys are served in order on one
// worker in both, so the two runs are deterministic and comparable operation by operation.
#include <gtest/gtest.h>

#include <belady/belady.hpp>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "belady/model/registry.hpp"
#include "core/backend.hpp"
#include "support/cache_harness.hpp"

namespace {

using harness = belady_test::harness<std::uint64_t, float>;
using belady::model::model_params;

/// A cache built with the device's tile emulated (or not). The variable is read when a cache is
/// constructed, so it is set only around the construction.
struct emulation_variable {
  explicit emulation_variable(const char* value) {
    if (value != nullptr) ::setenv("BELADY_HOST_EMULATE_TILE", value, 1);
  }
  ~emulation_variable() { ::unsetenv("BELADY_HOST_EMULATE_TILE"); }
  emulation_variable(const emulation_variable&) = delete;
  emulation_variable& operator=(const emulation_variable&) = delete;
};

std::unique_ptr<harness> make(const belady::cache_config& config, bool emulated) {
  const emulation_variable scope(emulated ? "32" : nullptr);
  return std::make_unique<harness>(config);
}

/// Fails unless emulated tiles served keys since `before` (a comparison of the host with itself
/// would pass every other check).
void expect_emulation_ran(std::uint64_t before) {
  EXPECT_GT(belady::detail::lockstep_keys_served().load(), before) << "no key went through the emulated tile";
}

/// Skips where the emulation is not built in (sanitizer builds: its fibers switch stacks).
#define SKIP_UNLESS_EMULATION_AVAILABLE()                                                    \
  do {                                                                                       \
    try {                                                                                    \
      (void)make(belady::cache_config{.capacity = 64, .dim = 1, .bucket_size = 16}, true);   \
    } catch (const belady::backend_unavailable& e) {                                         \
      GTEST_SKIP() << e.what();                                                              \
    }                                                                                        \
  } while (0)

/// Every feature weighted, so that a difference in any of them between the lanes' scoring and the
/// host's changes the victims.
model_params dense_model() {
  model_params p;
  p.kind = belady::model::model_kind::linear;
  for (int i = 0; i < belady::model::feature_count; ++i) {
    p.inv_std[i] = 1.0f;
    p.w[i] = 0.05f * static_cast<float>((i * 7) % 11) - 0.2f;
  }
  p.w[belady::model::feature::log_delta] = 1.0f;
  return p;
}

/// dim 3: 12-byte rows, copied in 4-byte words by 3 lanes; 4: one 16-byte word; 160: 40 16-byte
/// words, so lanes 0..7 copy two.
belady::cache_config config_for(belady::policy p, std::uint32_t bucket, bool admission = false, std::size_t dim = 3) {
  belady::cache_config c;
  c.capacity = 4 * bucket;
  c.dim = dim;
  c.bucket_size = bucket;
  c.eviction = p;
  c.executor = belady::backend::host;
  c.host_threads = 1;
  c.learned_candidates = 16;
  c.learned_admission = admission;
  return c;
}

std::string name_of(belady::policy p) { return std::string(belady::to_string(p)); }

void expect_same_lookups(const harness::find_out& a, const harness::find_out& b) {
  EXPECT_EQ(a.hits, b.hits);
  EXPECT_EQ(a.found, b.found);
  EXPECT_EQ(a.rows, b.rows);
}

void expect_same_writes(const belady::insert_result& a, const belady::insert_result& b) {
  EXPECT_EQ(a.inserted, b.inserted);
  EXPECT_EQ(a.assigned, b.assigned);
  EXPECT_EQ(a.evicted, b.evicted);
  EXPECT_EQ(a.refused, b.refused);
}

/// Mixed batches (repeated keys within a batch included) of every operation, on both caches,
/// compared call by call, then the stored entries.
void expect_same_under_emulation(const belady::cache_config& config, const model_params* model) {
  auto host = make(config, false);
  auto lanes = make(config, true);
  if (model != nullptr) {
    host->c.models().install(*model);
    lanes->c.models().install(*model);
  }
  const std::uint64_t mismatches_before = belady::detail::lockstep_result_mismatches().load();
  const std::uint64_t served_before = belady::detail::lockstep_keys_served().load();
  const bool failing_before = ::testing::Test::HasFailure();
  std::mt19937_64 rng(11);
  const std::uint64_t key_range = 3 * config.capacity;
  for (int round = 0; round < 48; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    std::vector<std::uint64_t> keys(24), ids(24), scores(24);
    for (std::size_t i = 0; i < keys.size(); ++i) {
      keys[i] = 1 + rng() % key_range;
      ids[i] = rng() % 1000;
      scores[i] = rng() % 500;
    }
    if (round % 5 == 4) keys[7] = keys[3], keys[19] = keys[3];  // repeats inside one batch
    const bool scored = config.eviction == belady::policy::custom;
    const std::vector<std::uint64_t> supplied = scored ? scores : std::vector<std::uint64_t>{};
    switch (round % 6) {
      case 0:
      case 3: {
        const auto a = host->find(keys), b = lanes->find(keys);
        expect_same_lookups(a, b);
        EXPECT_EQ(a.scores, b.scores);
        break;
      }
      case 1:
        expect_same_writes(host->insert(keys, ids, supplied), lanes->insert(keys, ids, supplied));
        break;
      case 2:
        expect_same_lookups(host->find_or_insert(keys, ids, supplied), lanes->find_or_insert(keys, ids, supplied));
        break;
      case 4: {
        const auto a = host->insert_and_evict(keys, ids, supplied), b = lanes->insert_and_evict(keys, ids, supplied);
        expect_same_writes(a.result, b.result);
        EXPECT_EQ(a.handed, b.handed);
        break;
      }
      case 5: {
        EXPECT_EQ(host->assign(keys, ids, supplied), lanes->assign(keys, ids, supplied));
        const std::vector<std::uint64_t> gone(keys.begin(), keys.begin() + 4);
        EXPECT_EQ(host->erase(gone), lanes->erase(gone));
        break;
      }
    }
    if (!failing_before && ::testing::Test::HasFailure()) {
      ADD_FAILURE() << "the emulated tile departed from the host in this round";
      return;
    }
  }
  EXPECT_EQ(host->c.size(), lanes->c.size());
  EXPECT_EQ(host->all(), lanes->all());
  lanes->c.clear();
  EXPECT_EQ(lanes->c.size(), 0u);
  EXPECT_TRUE(lanes->all().empty());
  EXPECT_EQ(belady::detail::lockstep_result_mismatches().load(), mismatches_before)
      << "the lanes of a tile returned different outcomes for one key";
  expect_emulation_ran(served_before);
}

}  // namespace

// Each policy, in buckets smaller than the tile (16 slots: lanes 16..31 hold none), of a size no
// power of two divides (125: the last chunk of lanes is partial, digests are not word-aligned),
// of the default size (128: a digest word of 8 slots per lane, 16 lanes) and larger (264: 33
// words, a second round of one).
TEST(EmulatedTile, EveryOperationMatchesTheHost) {
  SKIP_UNLESS_EMULATION_AVAILABLE();
  const model_params model = dense_model();
  for (const belady::policy p :
       {belady::policy::lru, belady::policy::lfu, belady::policy::fifo, belady::policy::custom, belady::policy::learned})
    for (const std::uint32_t bucket : {16u, 125u, 128u, 264u}) {
      SCOPED_TRACE(name_of(p) + ", " + std::to_string(bucket) + "-slot buckets");
      expect_same_under_emulation(config_for(p, bucket), p == belady::policy::learned ? &model : nullptr);
    }
}

// Rows the lanes copy in one 16-byte word, and rows long enough that some lanes copy twice.
TEST(EmulatedTile, WideAndNarrowRowsMatchTheHost) {
  SKIP_UNLESS_EMULATION_AVAILABLE();
  for (const std::size_t dim : {4u, 160u}) {
    SCOPED_TRACE("dim " + std::to_string(dim));
    expect_same_under_emulation(config_for(belady::policy::lru, 128, false, dim), nullptr);
  }
}

// The learned policy's admission: the newcomer's prediction is lane 0's, broadcast to the tile.
TEST(EmulatedTile, LearnedAdmissionMatchesTheHost) {
  SKIP_UNLESS_EMULATION_AVAILABLE();
  model_params p = dense_model();
  p.w[belady::model::feature::once] = 6.0f;  // newcomers predicted late: some are refused
  for (const std::uint32_t bucket : {16u, 128u}) {
    SCOPED_TRACE(std::to_string(bucket) + "-slot buckets");
    expect_same_under_emulation(config_for(belady::policy::learned, bucket, true), &p);
  }
}

// The device's eviction (each lane scores its candidates, shfl_xor reductions pick the victim)
// against the host's (vector scoring), one key at a time: the same victims, for candidate counts
// the bucket size divides, does not divide, that exceed the tile and that are below it. The test
// LearnedPolicy.CudaEvictsWhatTheHostEvicts does the same on a GPU.
TEST(EmulatedTile, LearnedEvictionChoosesTheHostsVictims) {
  SKIP_UNLESS_EMULATION_AVAILABLE();
  const model_params model = dense_model();
  for (const auto [bucket, k] : {std::pair{128u, 16u}, {125u, 16u}, {125u, 125u}, {100u, 3u}}) {
    SCOPED_TRACE(std::to_string(bucket) + "-slot buckets, " + std::to_string(k) + " candidates");
    belady::cache_config cfg = config_for(belady::policy::learned, bucket);
    cfg.learned_candidates = k;
    auto host = make(cfg, false);
    auto lanes = make(cfg, true);
    host->c.models().install(model);
    lanes->c.models().install(model);
    const std::uint64_t served_before = belady::detail::lockstep_keys_served().load();
    std::mt19937_64 rng(5);
    std::vector<std::uint64_t> evicted[2];
    std::size_t hits[2] = {0, 0};
    for (int i = 0; i < 1500; ++i) {
      const std::uint64_t key = 1 + rng() % (12 * bucket);
      harness* h[2] = {host.get(), lanes.get()};
      for (int b = 0; b < 2; ++b) {
        if (h[b]->find({key}).hits == 1) {
          ++hits[b];
          continue;
        }
        for (const auto& e : h[b]->insert_and_evict({key}, {key}).handed) evicted[b].push_back(e.key);
      }
    }
    EXPECT_EQ(hits[0], hits[1]);
    EXPECT_EQ(evicted[0], evicted[1]);
    EXPECT_GT(evicted[0].size(), 500u);
    expect_emulation_ran(served_before);
  }
}

// A value the variable cannot mean is an error naming it, not a silent fallback.
TEST(EmulatedTile, UnsupportedLaneCountsAreRejected) {
  const emulation_variable seven("7");
  try {
    harness h(config_for(belady::policy::lru, 16));
    ADD_FAILURE() << "accepted 7 lanes";
  } catch (const belady::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("BELADY_HOST_EMULATE_TILE"), std::string::npos) << e.what();
  }
}

// What the learned policy records beside serving: the training log of eviction candidates (lane 0
// writes each entry) and online learning's sampled access events (lane 0 appends them).
TEST(EmulatedTile, CandidateLogAndSampledEventsMatchTheHost) {
  SKIP_UNLESS_EMULATION_AVAILABLE();
  belady::cache_config cfg = config_for(belady::policy::learned, 128);
  cfg.online.enabled = true;
  cfg.online.manual = true;
  cfg.online.sample_rate = 0.2;
  cfg.online.train_every_samples = 1u << 30;  // no training: only the logs are compared
  auto host = make(cfg, false);
  auto lanes = make(cfg, true);
  const std::uint64_t served_before = belady::detail::lockstep_keys_served().load();
  const model_params model = dense_model();
  harness* h[2] = {host.get(), lanes.get()};
  for (harness* x : h) {
    x->c.models().install(model);
    x->c.set_candidate_log(1 << 16);
  }
  std::mt19937_64 rng(9);
  for (int round = 0; round < 40; ++round) {
    std::vector<std::uint64_t> keys(32);
    for (auto& k : keys) k = 1 + rng() % (3 * cfg.capacity);
    for (harness* x : h) {
      (void)x->find(keys);
      (void)x->insert(keys, keys);
    }
    if (round == 19) {
      // One long find crosses the sketch's ageing period (10 x 1,024 accesses): the features
      // logged after it see halved counts, halved by the lanes a run of 32 at a time.
      std::vector<std::uint64_t> more(10240);
      for (auto& k : more) k = 1 + rng() % (3 * cfg.capacity);
      for (harness* x : h) (void)x->find(more);
    }
  }
  const auto a = host->c.take_candidate_log(), b = lanes->c.take_candidate_log();
  EXPECT_GT(a.keys.size(), 100u);
  EXPECT_EQ(a.keys, b.keys);
  EXPECT_EQ(a.times, b.times);
  EXPECT_EQ(a.features, b.features);
  host->c.online_step();
  lanes->c.online_step();
  const auto ra = host->c.online_status(), rb = lanes->c.online_status();
  EXPECT_GT(ra.sampled_events, 100u);
  EXPECT_EQ(ra.sampled_events, rb.sampled_events);
  EXPECT_EQ(ra.sampled_requests, rb.sampled_requests);
  EXPECT_EQ(ra.dropped_events, rb.dropped_events);
  expect_emulation_ran(served_before);
}

// The ops that serve a run of 32 items per call (one per lane on the device): size over 70
// buckets (three runs, the last partial) and the reserved-key count of a long batch.
TEST(EmulatedTile, RunsOfItemsCoverEveryItem) {
  SKIP_UNLESS_EMULATION_AVAILABLE();
  belady::cache_config cfg = config_for(belady::policy::lru, 16);
  cfg.capacity = 70 * 16;
  auto host = make(cfg, false);
  auto lanes = make(cfg, true);
  const std::uint64_t served_before = belady::detail::lockstep_keys_served().load();
  std::mt19937_64 rng(3);
  std::vector<std::uint64_t> keys(3000);
  for (auto& k : keys) k = 1 + rng() % 100000;
  for (harness* x : {host.get(), lanes.get()}) (void)x->insert(keys, keys);
  EXPECT_EQ(lanes->c.size(), host->c.size());
  EXPECT_EQ(lanes->c.size(), lanes->all().size());
  EXPECT_GT(host->c.size(), 1000u);
  keys.resize(100);
  keys[0] = belady::empty_key<std::uint64_t>, keys[33] = belady::reclaim_key<std::uint64_t>;
  keys[95] = belady::empty_key<std::uint64_t>, keys[99] = belady::reclaim_key<std::uint64_t>;
  for (harness* x : {host.get(), lanes.get()}) {
    try {
      (void)x->contains(keys);
      ADD_FAILURE() << "reserved keys accepted";
    } catch (const belady::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find("4 reserved key(s)"), std::string::npos) << e.what();
    }
  }
  expect_emulation_ran(served_before);
}
