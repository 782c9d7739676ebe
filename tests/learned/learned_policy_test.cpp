#include <gtest/gtest.h>

#include <algorithm>
#include <belady/belady.hpp>
#include <belady/detail/learned.hpp>
#include <belady/detail/ops.hpp>
#include <belady/model/features.hpp>
#include <belady/model/registry.hpp>
#include <utility>
#include "host/candidate_scoring.hpp"
#include "support/cache_harness.hpp"
#include <cmath>
#include <string>
#include <memory>
#include <random>
#include <vector>

namespace {

using belady::model::feature_count;
using belady::model::model_params;
using cache_t = belady::cache<std::uint64_t, float>;

/// A linear model whose prediction is `sign` x log2(1 + time since last access): with sign +1
/// the furthest-idle candidate is evicted (LRU); with -1 the most recent one (MRU).
model_params recency_model(float sign) {
  model_params p;
  p.kind = belady::model::model_kind::linear;
  for (int i = 0; i < feature_count; ++i) p.inv_std[i] = 1.0f;
  p.w[0] = sign;
  return p;
}

belady::cache_config learned_config(std::size_t capacity, std::uint32_t bucket, std::uint32_t candidates) {
  return {.capacity = capacity,
          .dim = 2,
          .bucket_size = bucket,
          .eviction = belady::policy::learned,
          .executor = belady::backend::host,
          .host_threads = 1,
          .learned_candidates = candidates};
}

/// The exact-LRU cache the learned one is compared with.
belady::cache_config lru_config(std::size_t capacity, std::uint32_t bucket) {
  return {.capacity = capacity, .dim = 2, .bucket_size = bucket, .eviction = belady::policy::lru,
          .executor = belady::backend::host, .host_threads = 1};
}

/// recency_model(+1) with a negligible weight on the access count: it still ranks by recency on
/// streams of distinct ticks, but it is not recency-only, so the cache really scores candidates.
model_params nudged_recency_model() {
  model_params p = recency_model(+1.0f);
  p.w[3] = 1e-6f;
  return p;
}

struct outcome {
  std::vector<std::uint64_t> evicted;
  std::size_t hits = 0;
};

/// Serves `keys` one at a time (find, insert on miss) and collects hits and evicted keys.
outcome serve(cache_t& c, const std::vector<std::uint64_t>& keys) {
  outcome o;
  std::vector<float> v(2), ev(2);
  std::uint64_t ek[1];
  bool found[1];
  for (std::uint64_t k : keys) {
    const std::uint64_t key[1] = {k};
    if (c.find(key, v, found) == 1) {
      ++o.hits;
      continue;
    }
    const float val[2] = {float(k), float(k)};
    const auto r = c.insert_and_evict(key, val, ek, ev);
    if (r.handed_back() == 1) o.evicted.push_back(ek[0]);
  }
  return o;
}

std::vector<std::uint64_t> random_keys(std::size_t n, std::uint64_t range, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::uint64_t> keys(n);
  for (auto& k : keys) k = rng() % range;
  return keys;
}

/// Serves `keys` through both caches and expects the same hits and the same evicted keys, in
/// order. Returns the first cache's outcome.
outcome expect_same_outcome(cache_t& a, cache_t& b, const std::vector<std::uint64_t>& keys) {
  const outcome x = serve(a, keys), y = serve(b, keys);
  EXPECT_EQ(x.hits, y.hits);
  EXPECT_EQ(x.evicted, y.evicted);
  return x;
}

}  // namespace

TEST(LearnedFeatures, MatchTheirDefinitions) {
  belady::detail::slot_meta m{};
  m.last_access = 90;
  m.insert_time = 10;
  m.last_write = 50;
  m.access_count = 4;
  m.last_gap = 15;
  m.prev_gap = 3;
  m.decayed_count = 2.0f;
  m.sketch_count = 7;
  m.flags = belady::detail::ghost_on_insert;
  float f[feature_count];
  belady::model::slot_features(m, {100, 0.5f, 10.0f}, f);
  const float delta = 10, age = 90, mean_gap = age / 4;
  EXPECT_NEAR(f[0], std::log2(1 + delta), 1e-4);
  EXPECT_NEAR(f[1], std::log2(16.0f), 1e-4);
  EXPECT_NEAR(f[2], std::log2(4.0f), 1e-4);
  EXPECT_NEAR(f[3], std::log2(5.0f), 1e-4);
  EXPECT_NEAR(f[4], std::log2(1 + age), 1e-4);
  EXPECT_NEAR(f[5], std::log2(1 + mean_gap), 1e-4);
  EXPECT_NEAR(f[6], std::log2(1 + (mean_gap - delta)), 1e-4);
  EXPECT_NEAR(f[7], 0.0f, 1e-4);
  EXPECT_NEAR(f[8], f[1] - f[2], 1e-4);
  EXPECT_NEAR(f[9], delta / 16.0f, 1e-4);
  EXPECT_NEAR(f[10], 0.0f, 1e-4);
  EXPECT_NEAR(f[11], 3.0f, 1e-4);
  EXPECT_NEAR(f[12], 1.0f, 1e-4);
  EXPECT_NEAR(f[13], 0.5f, 1e-4);
  EXPECT_NEAR(f[14], std::log2(51.0f), 1e-4);
  EXPECT_NEAR(f[15], 1.0f, 1e-4);  // 2 halved once over 10 ticks of half-life
}

// Random metadata for the bit-identity tests below: every feature's range, including the no-gap
// and once-accessed special cases, ghost flags, and decayed counters that underflow.
std::vector<belady::detail::slot_meta> random_metas(int n, std::uint64_t now, std::mt19937_64& rng) {
  auto draw = [&](std::uint64_t m) { return rng() % m; };
  std::vector<belady::detail::slot_meta> metas(static_cast<std::size_t>(n));
  for (int j = 0; j < n; ++j) {
    belady::detail::slot_meta& m = metas[static_cast<std::size_t>(j)];
    m = {};
    m.insert_time = now - 1 - draw(j % 5 == 4 ? now - 1 : 500'000);
    m.last_access = m.insert_time + draw(now - m.insert_time);
    m.last_write = m.insert_time + draw(now - m.insert_time);
    m.access_count = 1 + static_cast<std::uint32_t>(draw(j % 2 ? 3 : 5000));
    m.last_gap = j % 7 == 0 ? belady::detail::no_gap : static_cast<std::uint32_t>(draw(100'000));
    m.prev_gap = j % 4 < 2 ? belady::detail::no_gap : static_cast<std::uint32_t>(draw(100'000));
    m.decayed_count = static_cast<float>(draw(1000)) / 7.0f;
    m.sketch_count = static_cast<std::uint32_t>(draw(70'000));
    m.flags = j % 3 == 0 ? belady::detail::ghost_on_insert : 0u;
  }
  return metas;
}

model_params random_params(belady::model::model_kind kind, std::mt19937_64& rng) {
  auto draw = [&](std::uint64_t m) { return rng() % m; };
  model_params p;
  p.kind = kind;
  p.hidden = 12;
  std::uniform_real_distribution<float> w(-1.0f, 1.0f);
  for (int i = 0; i < feature_count; ++i) {
    p.mean[i] = w(rng);
    p.inv_std[i] = 1.0f + w(rng) * 0.5f;
    p.w[i] = w(rng);
    p.qw[i] = static_cast<std::int8_t>(draw(255) - 127);
  }
  for (int h = 0; h < belady::model::max_hidden; ++h) {
    for (int i = 0; i < feature_count; ++i) {
      p.w1[h][i] = w(rng);
      p.qw1[h][i] = static_cast<std::int8_t>(draw(255) - 127);
    }
    p.b1[h] = w(rng);
    p.w2[h] = w(rng);
    p.qw2[h] = static_cast<std::int8_t>(draw(255) - 127);
    p.qw1_scale[h] = 0.01f;
  }
  p.bias = w(rng);
  p.b2 = w(rng);
  p.qw_scale = p.qw2_scale = 0.02f;
  return p;
}

constexpr belady::model::model_kind all_kinds[] = {belady::model::model_kind::linear, belady::model::model_kind::mlp,
                                                   belady::model::model_kind::linear_int8,
                                                   belady::model::model_kind::mlp_int8};

// slot_features_block / predict_block compute N slots feature-major (built with -fno-trapping-math
// here as in the library, so the vectorised form is what runs); the device and the trainers score
// one at a time. Both must give bit-identical values, or a model trained through one path would
// rank candidates differently on the other.
TEST(LearnedFeatures, BlockOfEightEqualsOneAtATime) {
  std::mt19937_64 rng(7);
  constexpr int n = 8;
  const std::uint64_t now = 1'000'000;
  const auto metas = random_metas(n, now, rng);
  const belady::detail::slot_meta* ptrs[n];
  for (int j = 0; j < n; ++j) ptrs[j] = &metas[static_cast<std::size_t>(j)];
  const belady::model::eviction_context ctx{now, 0.75f, 4096.0f};
  float block[feature_count * n];
  belady::model::slot_features_block<n>(ptrs, ctx, block);
  float one[n][feature_count];
  for (int j = 0; j < n; ++j) {
    belady::model::slot_features(metas[static_cast<std::size_t>(j)], ctx, one[j]);
    for (int i = 0; i < feature_count; ++i) EXPECT_EQ(block[i * n + j], one[j][i]) << "feature " << i << " slot " << j;
  }
  for (auto kind : all_kinds) {
    const model_params p = random_params(kind, rng);
    float y[n];
    belady::model::predict_block<n>(p, block, y);
    for (int j = 0; j < n; ++j)
      EXPECT_EQ(y[j], belady::model::predict(p, one[j])) << "kind " << int(kind) << " slot " << j;
  }
}

// The host backend's eviction scoring (hand-vectorised, src/host/candidate_scoring.cpp) must equal
// predict(slot_features()) bit for bit, on every instruction set it may pick, for every model kind
// and for candidate counts that leave a short last block.
TEST(LearnedFeatures, HostVectorScoringEqualsScalar) {
  std::mt19937_64 rng(11);
  const std::uint64_t now = 3'000'000;
  const belady::model::eviction_context ctx{now, 1.0f, 65536.0f};
  using scorer = void (*)(const belady::detail::slot_meta* const*, std::uint32_t, const belady::model::eviction_context&,
                          const model_params&, float*);
  std::vector<std::pair<const char*, scorer>> scorers{{"baseline", belady::detail::score_candidates_baseline},
                                                      {"dispatched", belady::detail::score_candidates_host}};
  if (belady::detail::host_scoring_has_avx2()) scorers.emplace_back("avx2", belady::detail::score_candidates_avx2);
  for (const std::uint32_t n : {1u, 5u, 8u, 16u, 21u}) {
    const auto metas = random_metas(static_cast<int>(n), now, rng);
    std::vector<const belady::detail::slot_meta*> ptrs;
    for (const auto& m : metas) ptrs.push_back(&m);
    for (auto kind : all_kinds) {
      const model_params p = random_params(kind, rng);
      std::vector<float> expected(n);
      for (std::uint32_t c = 0; c < n; ++c) {
        float f[feature_count];
        belady::model::slot_features(metas[c], ctx, f);
        expected[c] = belady::model::predict(p, f);
      }
      for (const auto& [name, fn] : scorers) {
        std::vector<float> y(n, -1.0f);
        fn(ptrs.data(), n, ctx, p, y.data());
        for (std::uint32_t c = 0; c < n; ++c)
          EXPECT_EQ(y[c], expected[c]) << name << " kind " << int(kind) << " n " << n << " candidate " << c;
      }
    }
  }
}

TEST(LearnedPolicy, WithoutAModelEvictsInLruOrder) {
  cache_t learned(learned_config(64, 8, 8));
  cache_t lru(lru_config(64, 8));
  EXPECT_GT(expect_same_outcome(learned, lru, random_keys(4000, 200, 1)).evicted.size(), 1000u);
}

TEST(LearnedPolicy, RecencyModelOverAllSlotsIsLru) {
  cache_t learned(learned_config(64, 8, 8));
  learned.models().install(nudged_recency_model());  // scored: a recency-only model would not be
  cache_t lru(lru_config(64, 8));
  (void)expect_same_outcome(learned, lru, random_keys(4000, 200, 2));
}

// A recency-only model (the online learner's baseline) evicts the least recently used slot of the
// whole bucket, not of its sampled candidates: exact bucket LRU even with 2 candidates of 8. A
// model with any other weight scores its sample, and then differs from LRU on this stream.
TEST(LearnedPolicy, RecencyOnlyModelEvictsTheWholeBucketsLeastRecent) {
  cache_t lru(lru_config(64, 8));
  const auto keys = random_keys(4000, 200, 3);
  const outcome exact = serve(lru, keys);
  cache_t recency(learned_config(64, 8, 2));
  model_params scaled = recency_model(+1.0f);
  scaled.w[0] = 3.0f, scaled.inv_std[0] = 0.5f, scaled.mean[0] = 1.0f, scaled.bias = -2.0f;  // still recency alone
  recency.models().install(scaled);
  const outcome a = serve(recency, keys);
  EXPECT_EQ(a.hits, exact.hits);
  EXPECT_EQ(a.evicted, exact.evicted);

  cache_t sampled(learned_config(64, 8, 2));
  sampled.models().install(nudged_recency_model());  // not recency alone: 2 sampled candidates
  const outcome b = serve(sampled, keys);
  EXPECT_NE(b.evicted, exact.evicted);
}

// All 128 slots of a bucket as candidates: the host scores them in chunks of 64 (learned.hpp) and
// blocks of 8 (candidate_scoring.cpp). A recency model nudged off recency-only (so it really is
// scored) over every slot is LRU: the chunks must together find the global best.
TEST(LearnedPolicy, ScoringEveryOneOfManySlotsIsLru) {
  cache_t learned(learned_config(512, 128, 128));
  ASSERT_FALSE(belady::model::ranks_by_recency_alone(nudged_recency_model()));
  learned.models().install(nudged_recency_model());
  cache_t lru(lru_config(512, 128));
  EXPECT_GT(expect_same_outcome(learned, lru, random_keys(6000, 1500, 4)).evicted.size(), 2000u);
}

// Bucket sizes that are not a multiple of the candidate count (the replay picks 125-slot buckets
// to hold a capacity of 5,000 exactly): every slot must still be a candidate. An offset drawn
// below the stride alone never reached the last 125 mod 16 = 13 slots, whose keys stayed forever.
TEST(LearnedPolicy, EverySlotOfAnOddSizedBucketGetsEvicted) {
  for (const std::uint32_t candidates : {16u, 64u, 100u}) {
    SCOPED_TRACE("candidates " + std::to_string(candidates));
    cache_t c(learned_config(125, 125, candidates));
    c.models().install(nudged_recency_model());
    std::vector<std::uint64_t> first(125), later(125 * 40);
    for (std::size_t i = 0; i < first.size(); ++i) first[i] = i + 1;
    for (std::size_t i = 0; i < later.size(); ++i) later[i] = 1000 + i;  // all distinct: misses
    (void)serve(c, first);
    ASSERT_EQ(c.size(), 125u);
    const outcome o = serve(c, later);
    ASSERT_EQ(o.evicted.size(), later.size());
    for (const std::uint64_t k : first)
      EXPECT_TRUE(std::find(o.evicted.begin(), o.evicted.end(), k) != o.evicted.end()) << "key " << k << " never evicted";
  }
}

// The sample itself: K distinct slots, and over many evictions every slot of the bucket about
// equally often (K / bucket_slots each), for bucket sizes that K divides and that it does not.
TEST(LearnedPolicy, CandidateSampleIsDistinctAndCoversTheBucketEvenly) {
  for (const auto [slots, k] : {std::pair{128u, 16u}, {125u, 16u}, {125u, 64u}, {100u, 3u}, {7u, 7u}, {7u, 1u}}) {
    SCOPED_TRACE(std::to_string(slots) + " slots, " + std::to_string(k) + " candidates");
    belady::detail::table_view<std::uint64_t> tab{};
    tab.bucket_slots = slots;
    tab.candidates = k;
    const std::uint32_t stride = slots / k;
    std::vector<std::uint64_t> times(slots, 0);
    const std::uint64_t evictions = 50'000;
    for (std::uint64_t now = 0; now < evictions; ++now) {
      const std::uint32_t offset = belady::detail::candidate_offset(tab, 3, now);
      std::vector<bool> seen(slots, false);
      for (std::uint32_t c = 0; c < k; ++c) {
        const std::uint32_t s = belady::detail::candidate_slot(offset, c, stride, slots);
        ASSERT_LT(s, slots);
        ASSERT_FALSE(seen[s]) << "slot " << s << " twice";
        seen[s] = true;
        ++times[s];
      }
    }
    // Each slot is a candidate in K of the bucket_slots offsets: a binomial count. Five standard
    // deviations; the old offset (below the stride) left slots at 0.
    const double expected = double(evictions) * k / slots;
    const double sigma = std::sqrt(expected * (1.0 - double(k) / slots)) + 1.0;
    for (std::uint32_t s = 0; s < slots; ++s) EXPECT_NEAR(double(times[s]), expected, 5 * sigma) << "slot " << s;
  }
}

// The device's eviction (the tile's lanes score candidates, shfl_xor picks the best) against the
// host's (vector scoring): the same model on the same one-key-at-a-time stream evicts the same
// keys, for bucket sizes that the candidate count divides and that it does not. Runs where a GPU
// is (scripts/gpu-check.sh); skipped elsewhere.
TEST(LearnedPolicy, CudaEvictsWhatTheHostEvicts) {
  BELADY_SKIP_UNLESS_USABLE(belady::backend::cuda);
  for (const auto [bucket, k] : {std::pair{128u, 16u}, {125u, 16u}, {125u, 125u}, {100u, 3u}}) {
    SCOPED_TRACE(std::to_string(bucket) + "-slot buckets, " + std::to_string(k) + " candidates");
    const auto keys = random_keys(6000, 12 * bucket, 5);
    std::vector<std::uint64_t> evicted[2];
    std::size_t hits[2] = {0, 0};
    for (int b = 0; b < 2; ++b) {
      belady::cache_config cfg = learned_config(4 * bucket, bucket, k);
      cfg.executor = b == 0 ? belady::backend::host : belady::backend::cuda;
      belady_test::harness<std::uint64_t, float> h(cfg);
      h.c.models().install(nudged_recency_model());
      for (const std::uint64_t key : keys) {
        if (h.find({key}).hits == 1) {
          ++hits[b];
          continue;
        }
        for (const auto& e : h.insert_and_evict({key}, {key}).handed) evicted[b].push_back(e.key);
      }
    }
    EXPECT_EQ(hits[0], hits[1]);
    EXPECT_EQ(evicted[0], evicted[1]);
    EXPECT_GT(evicted[0].size(), 2000u);
  }
}

TEST(LearnedModel, RanksByRecencyAloneOnlyForPositiveRecencyWeights) {
  EXPECT_TRUE(belady::model::ranks_by_recency_alone(recency_model(+1.0f)));
  EXPECT_FALSE(belady::model::ranks_by_recency_alone(recency_model(-1.0f)));
  model_params p = recency_model(+1.0f);
  p.inv_std[0] = -1.0f;
  EXPECT_FALSE(belady::model::ranks_by_recency_alone(p)) << "a negative scale inverts the order";
  p = recency_model(+1.0f);
  p.w[15] = 0.5f;
  EXPECT_FALSE(belady::model::ranks_by_recency_alone(p));
  p = recency_model(+1.0f);
  p.kind = belady::model::model_kind::mlp;
  EXPECT_FALSE(belady::model::ranks_by_recency_alone(p));
}

TEST(LearnedPolicy, InvertedModelEvictsTheMostRecent) {
  cache_t c(learned_config(4, 4, 4));
  c.models().install(recency_model(-1.0f));
  // Fill 1..4, touch 2, then insert 5: the most recently used (2) goes.
  const auto o = serve(c, {1, 2, 3, 4, 2, 5});
  ASSERT_EQ(o.evicted.size(), 1u);
  EXPECT_EQ(o.evicted[0], 2u);
  // And the inverted model does worse than LRU on a skewed stream (the rollback tests'
  // premise): fewer hits.
  cache_t bad(learned_config(64, 8, 8)), good(learned_config(64, 8, 8));
  bad.models().install(recency_model(-1.0f));
  good.models().install(recency_model(+1.0f));
  std::vector<std::uint64_t> keys;
  std::mt19937_64 rng(3);
  for (int i = 0; i < 8000; ++i) keys.push_back(static_cast<std::uint64_t>(std::pow(rng() % 1000 / 1000.0, 3) * 400));
  EXPECT_LT(serve(bad, keys).hits, serve(good, keys).hits);
}

TEST(LearnedPolicy, AdmissionRefusesNewcomersPredictedToReturnLater) {
  // Prediction = 10 x once-flag: a newcomer (seen once) predicts 10, residents seen twice 0.
  model_params p;
  p.kind = belady::model::model_kind::linear;
  for (int i = 0; i < feature_count; ++i) p.inv_std[i] = 1.0f;
  p.w[10] = 10.0f;
  auto cfg = learned_config(4, 4, 4);
  cfg.learned_admission = true;
  cache_t c(cfg);
  c.models().install(p);
  serve(c, {1, 2, 3, 4, 1, 2, 3, 4});  // all residents accessed twice
  std::uint64_t ek[1];
  std::vector<float> ev(2);
  const std::uint64_t key[1] = {9};
  const float val[2] = {9, 9};
  const auto r = c.insert_and_evict(key, val, ek, ev);
  EXPECT_EQ(r.refused, 1u);
  EXPECT_EQ(r.inserted, 0u);
  EXPECT_EQ(ek[0], 9u);  // handed back
  EXPECT_EQ(ev[0], 9.0f);
  // Without admission the same model evicts a resident instead.
  cfg.learned_admission = false;
  cache_t d(cfg);
  d.models().install(p);
  serve(d, {1, 2, 3, 4, 1, 2, 3, 4});
  EXPECT_EQ(d.insert_and_evict(key, val, ek, ev).inserted, 1u);
}

TEST(LearnedPolicy, CandidateLogRecordsEvictionsAndCountsDrops) {
  cache_t c(learned_config(16, 4, 4));
  c.set_candidate_log(8);
  const auto o = serve(c, random_keys(500, 100, 4));
  const auto log = c.take_candidate_log();
  ASSERT_EQ(log.keys.size(), 8u);
  EXPECT_EQ(log.features.size(), 8u * feature_count);
  EXPECT_GT(log.dropped, 0u);
  // Each eviction logs its victim, plus another candidate unless that draw hit the victim.
  EXPECT_GE(log.keys.size() + log.dropped, o.evicted.size());
  EXPECT_LE(log.keys.size() + log.dropped, 2 * o.evicted.size());
  for (std::size_t i = 1; i < log.times.size(); ++i) EXPECT_GE(log.times[i], log.times[i - 1]);
  EXPECT_TRUE(c.take_candidate_log().keys.empty());  // drained
}

// The sketch counts inserts of an absent key (the fill of a miss); a find's miss and a
// resident's hits are not counted there, so the sketch feature is the key's popularity before
// its stay, one count per time it entered (or was offered to) the cache.
TEST(LearnedPolicy, SketchFeatureCountsInsertsNotFindsOrHits) {
  using belady::model::log2p1;
  cache_t c(learned_config(8, 8, 8));  // one bucket of 8
  c.set_candidate_log(1000);
  std::vector<float> v(2);
  bool found[1];
  const std::uint64_t absent[1] = {200};
  for (int i = 0; i < 3; ++i) ASSERT_EQ(c.find(absent, v, found), 0u);  // three misses of 200: not counted
  const std::vector<float> row(2, 1.0f);
  for (int i = 0; i < 2; ++i) {  // two insert-erase rounds of 200: counted
    ASSERT_EQ(c.insert_or_assign(absent, row).inserted, 1u);
    ASSERT_EQ(c.erase(absent), 1u);
  }
  std::vector<std::uint64_t> keys(21, 100);                              // 100: a miss, then 20 hits
  keys.insert(keys.end(), {200, 1, 2, 3, 4, 5, 6});                      // fills the bucket
  for (std::uint64_t k = 1000; k < 1016; ++k) keys.push_back(k);         // evicts 100 and 200 first (LRU order)
  const outcome o = serve(c, keys);
  EXPECT_EQ(o.hits, 20u);
  const auto log = c.take_candidate_log();
  bool seen_100 = false, seen_200 = false;
  for (std::size_t i = 0; i < log.keys.size(); ++i) {
    const float* f = &log.features[i * feature_count];
    if (log.keys[i] == 100) {
      seen_100 = true;
      EXPECT_FLOAT_EQ(f[3], log2p1(21.0f));  // the stay's accesses: the insert and 20 hits
      // Its insert only: 1 (count-min may overestimate by a collision, never under). Counting
      // the find's miss would make it 2, the hits too 22.
      EXPECT_GE(f[11], log2p1(1.0f) - 1e-4f);
      EXPECT_LT(f[11], log2p1(2.0f) - 1e-4f);
    }
    if (log.keys[i] == 200) {
      seen_200 = true;
      // Two earlier inserts and serve()'s: 3. Counting the finds' misses would make it 7.
      EXPECT_GE(f[11], log2p1(3.0f) - 1e-4f);
      EXPECT_LT(f[11], log2p1(4.0f) - 1e-4f);
    }
  }
  EXPECT_TRUE(seen_100);
  EXPECT_TRUE(seen_200);
}

// TinyLFU ageing: after every 10 x max(1,024, capacity) accesses the sketch's counters are
// halved, so popularity from long ago fades. A key missed 40 times and then served enters with
// a count of 42 (serve's miss and insert add 2); after one ageing pass in between, 20 + 2.
TEST(LearnedPolicy, SketchAgeingHalvesTheCounts) {
  using belady::model::log2p1;
  for (const bool aged : {false, true}) {
    SCOPED_TRACE(aged ? "one ageing pass" : "no ageing");
    cache_t c(learned_config(8, 8, 8));  // one bucket of 8
    c.set_candidate_log(1000);
    std::vector<float> v(2);
    bool found[1];
    const std::uint64_t absent[1] = {200};
    const std::vector<float> row(2, 1.0f);
    for (int i = 0; i < 40; ++i) {  // 40 inserts of 200, each counted in the sketch
      ASSERT_EQ(c.insert_or_assign(absent, row).inserted, 1u);
      ASSERT_EQ(c.erase(absent), 1u);
    }
    ASSERT_EQ(c.find(absent, v, found), 0u);
    serve(c, {1});
    if (aged) {
      // Hits of a resident key: they count towards the period but not in the sketch.
      constexpr std::size_t n = 10240;
      const std::vector<std::uint64_t> hot(n, 1);
      std::vector<float> out(2 * n);
      const auto hits = std::make_unique<bool[]>(n);
      ASSERT_EQ(c.find(hot, out, std::span<bool>(hits.get(), n)), n);
    }
    std::vector<std::uint64_t> keys{200, 2, 3, 4, 5, 6, 7};  // fills the bucket
    for (std::uint64_t k = 1000; k < 1016; ++k) keys.push_back(k);  // evicts 1, then 200 (LRU order)
    serve(c, keys);
    const auto log = c.take_candidate_log();
    const float expected = aged ? 21.0f : 41.0f;  // 40, halved or not, plus serve()'s insert
    bool seen = false;
    for (std::size_t i = 0; i < log.keys.size(); ++i) {
      if (log.keys[i] != 200) continue;
      seen = true;
      const float sketch = log.features[i * feature_count + belady::model::feature::log_sketch];
      EXPECT_GE(sketch, log2p1(expected) - 1e-4f);  // count-min: over by a collision, never under
      EXPECT_LT(sketch, log2p1(expected + 8.0f));
    }
    EXPECT_TRUE(seen);
  }
}

TEST(LearnedPolicy, ModelsNeedTheLearnedPolicy) {
  cache_t lru({.capacity = 64, .dim = 2, .executor = belady::backend::host});
  EXPECT_THROW((void)lru.models(), belady::invalid_argument);
  EXPECT_THROW(lru.set_candidate_log(10), belady::invalid_argument);
  auto cfg = learned_config(64, 8, 0);
  EXPECT_THROW(cache_t{cfg}, belady::invalid_argument);
}

TEST(LearnedPolicy, BadModelIsRejectedAndTheActiveOneStays) {
  cache_t c(learned_config(64, 8, 8));
  const auto v1 = c.models().install(recency_model(+1.0f));
  model_params bad = recency_model(+1.0f);
  bad.w[3] = std::nanf("");
  EXPECT_THROW(c.models().install(bad), belady::invalid_argument);
  EXPECT_EQ(c.models().active_version(), v1);
}

namespace {

using belady::detail::key_location;
using belady::detail::next_digest_match;
using belady::detail::no_slot;
using belady::detail::present_slot_hint;
using belady::detail::set_digest;
using belady::detail::table_view;

// The host's prefetch hints read a bucket's digests without its lock, a whole word at a time:
// next_digest_match must name exactly the first matching slot at or after `from`, the first,
// the last and those across word boundaries included, and nothing of the other bucket.
TEST(LearnedPrefetch, DigestHintNamesTheFirstMatchingSlotOfTheBucketOnly) {
  constexpr std::uint32_t slots = 128;
  alignas(8) std::uint8_t digests[2 * slots] = {};
  table_view<std::uint64_t> tab{};
  tab.digests = digests;
  tab.num_buckets = 2;
  tab.bucket_slots = slots;
  const key_location loc = belady::detail::locate(tab, std::uint64_t{42});
  const auto other = static_cast<std::uint8_t>(loc.digest + 1);
  for (std::uint64_t s = 0; s < 2 * slots; ++s) set_digest(tab, s, other);
  EXPECT_EQ(next_digest_match(tab, loc, 0), no_slot);
  set_digest(tab, (1 - loc.bucket) * slots + 5, loc.digest);  // the other bucket does not count
  EXPECT_EQ(next_digest_match(tab, loc, 0), no_slot);
  for (std::uint32_t s : {0u, 7u, 8u, 63u, 64u, 127u}) {
    set_digest(tab, loc.base + s, loc.digest);
    EXPECT_EQ(next_digest_match(tab, loc, 0), s);
    EXPECT_EQ(next_digest_match(tab, loc, s), s);
    EXPECT_EQ(next_digest_match(tab, loc, s + 1), no_slot) << "slot " << s;
    EXPECT_EQ(digests[loc.base + s], loc.digest) << "slot " << s;
    // The word's other bytes are untouched.
    if (s % 8 != 0) EXPECT_EQ(digests[loc.base + s - 1], other) << "slot " << s;
    if (s % 8 != 7) EXPECT_EQ(digests[loc.base + s + 1], other) << "slot " << s;
    set_digest(tab, loc.base + s, other);
  }
  EXPECT_EQ(next_digest_match(tab, loc, 0), no_slot);
}

// Against a byte-by-byte scan, on digests drawn from a few values near the key's (one bit apart,
// where a word-at-a-time zero-byte test that lets borrows through would report false matches).
TEST(LearnedPrefetch, DigestHintAgreesWithAByteScan) {
  constexpr std::uint32_t slots = 64;
  alignas(8) std::uint8_t digests[slots] = {};
  table_view<std::uint64_t> tab{};
  tab.digests = digests;
  tab.num_buckets = 1;
  tab.bucket_slots = slots;
  std::mt19937_64 rng(7);
  for (int round = 0; round < 2000; ++round) {
    const key_location loc = belady::detail::locate(tab, std::uint64_t(rng()));
    const std::uint8_t near[] = {loc.digest, static_cast<std::uint8_t>(loc.digest ^ 1),
                                 static_cast<std::uint8_t>(loc.digest + 1), static_cast<std::uint8_t>(loc.digest - 1),
                                 static_cast<std::uint8_t>(loc.digest ^ 0x80)};
    for (std::uint32_t s = 0; s < slots; ++s) set_digest(tab, s, near[rng() % (round % 2 ? 5 : 40) % 5]);
    for (std::uint32_t from = 0; from <= slots; ++from) {
      std::uint32_t expected = no_slot;
      for (std::uint32_t s = from; s < slots; ++s)
        if (digests[s] == loc.digest) {
          expected = s;
          break;
        }
      ASSERT_EQ(next_digest_match(tab, loc, from), expected) << "round " << round << " from " << from;
    }
  }
}

// present_slot_hint checks the keys of the first two digest matches: the key's own slot after
// one that matches by chance is found; a slot that is not the key's is not named.
TEST(LearnedPrefetch, PresentSlotHintLooksPastAChanceMatch) {
  constexpr std::uint32_t slots = 32;
  alignas(8) std::uint8_t digests[slots] = {};
  std::uint64_t keys[slots] = {};
  table_view<std::uint64_t> tab{};
  tab.digests = digests;
  tab.keys = keys;
  tab.num_buckets = 1;
  tab.bucket_slots = slots;
  const std::uint64_t key = 42;
  const key_location loc = belady::detail::locate(tab, key);
  const auto other = static_cast<std::uint8_t>(loc.digest + 1);
  for (std::uint32_t s = 0; s < slots; ++s) set_digest(tab, s, other);
  EXPECT_EQ(present_slot_hint(tab, loc, key).slot, no_slot);
  EXPECT_FALSE(present_slot_hint(tab, loc, key).matched);
  set_digest(tab, 3, loc.digest);
  keys[3] = 1000;  // a chance match
  EXPECT_EQ(present_slot_hint(tab, loc, key).slot, no_slot);
  EXPECT_TRUE(present_slot_hint(tab, loc, key).matched);
  set_digest(tab, 20, loc.digest);
  keys[20] = key;
  EXPECT_EQ(present_slot_hint(tab, loc, key).slot, 20u);
}

// Buckets whose digests share words with a neighbour (bucket_slots not a multiple of 8) are
// written a byte at a time and never read without the lock: no hint, so callers prefetch as if
// the key were absent.
TEST(LearnedPrefetch, UnalignedBucketsGetNoHint) {
  constexpr std::uint32_t slots = 125;
  std::uint8_t digests[2 * slots] = {};
  table_view<std::uint64_t> tab{};
  tab.digests = digests;
  tab.num_buckets = 2;
  tab.bucket_slots = slots;
  const key_location loc = belady::detail::locate(tab, std::uint64_t{42});
  set_digest(tab, loc.base + 124, loc.digest);
  EXPECT_EQ(next_digest_match(tab, loc, 0), no_slot);
  EXPECT_EQ(digests[loc.base + 124], loc.digest);
  EXPECT_EQ(digests[loc.base + 123], 0);
  if (loc.base + 125 < 2 * slots) EXPECT_EQ(digests[loc.base + 125], 0);
}

}  // namespace
