// Online learning through the public API: sampling, the manual loop, promotion on a workload the
// model can win, rollback of a deliberately bad model, failure containment, and the thread.
#include <gtest/gtest.h>

#include <algorithm>
#include <belady/belady.hpp>
#include <belady/detail/hash.hpp>
#include <belady/detail/sampling.hpp>
#include <belady/model/registry.hpp>
#include <chrono>
#include <cmath>
#include <random>
#include <thread>
#include <vector>

#include "read_through.hpp"

namespace {

using belady::online_test::cache_t;
using belady::online_test::online_config;
using belady::online_test::serve;
using belady::online_decision;



bool is_sampled(std::uint64_t key, double rate) {
  const auto threshold = static_cast<std::uint64_t>(rate * 18446744073709551616.0);
  return belady::detail::sample_hash(belady::detail::mix64(key)) < threshold;
}

std::size_t count_kind(const belady::online_report& r, online_decision::kind k) {
  return static_cast<std::size_t>(std::count_if(r.decisions.begin(), r.decisions.end(),
                                                [k](const online_decision& d) { return d.what == k; }));
}

}  // namespace

TEST(OnlineLearning, SamplesExactlyTheSampledKeysEveryAccess) {
  const double rate = 0.05;
  cache_t c(online_config(4096, rate));
  std::mt19937_64 rng(3);
  std::size_t expected = 0;
  for (int i = 0; i < 20'000; ++i) {
    const std::uint64_t key = rng() % 10'000;
    const bool hit = serve(c, key);
    if (is_sampled(key, rate)) expected += hit ? 1 : 2;  // a find, and on a miss its insert
  }
  c.online_step();
  const auto r = c.online_status();
  EXPECT_TRUE(r.enabled);
  EXPECT_EQ(r.dropped_events, 0u);
  EXPECT_EQ(r.sampled_events, expected);
  // The fill after a sampled miss is not a second request.
  EXPECT_LT(r.sampled_requests, r.sampled_events);
  EXPECT_GT(r.sampled_requests, expected / 2);
}

TEST(OnlineLearning, FullSampleBufferCountsDropsAndNeverBlocks) {
  auto config = online_config(1 << 16, 0.05);
  config.online.sample_buffer = 1024;
  cache_t c(config);
  std::vector<std::uint64_t> keys(100'000);
  for (std::size_t i = 0; i < keys.size(); ++i) keys[i] = i + 1;
  std::vector<float> v(keys.size());
  std::unique_ptr<bool[]> found(new bool[keys.size()]);
  (void)c.find(keys, v, std::span<bool>(found.get(), keys.size()));
  std::size_t sampled = 0;
  for (std::uint64_t k : keys) sampled += is_sampled(k, 0.05);
  ASSERT_GT(sampled, 1024u);
  c.online_step();
  const auto r = c.online_status();
  EXPECT_EQ(r.sampled_events, 1024u);
  EXPECT_EQ(r.dropped_events, sampled - 1024);
}

TEST(OnlineLearning, ValidatesItsConfiguration) {
  auto bad = [](auto mutate) {
    auto config = online_config(4096, 0.01);
    mutate(config);
    return config;
  };
  // Above 5 % only in manual mode (replays of small traces), and never above 1.
  EXPECT_THROW(cache_t(bad([](auto& c) {
                 c.online.sample_rate = 0.2;
                 c.online.manual = false;
               })),
               belady::invalid_argument);
  EXPECT_THROW(cache_t(bad([](auto& c) { c.online.sample_rate = 1.5; })), belady::invalid_argument);
  EXPECT_NO_THROW(cache_t(bad([](auto& c) { c.online.sample_rate = 1.0; })));
  EXPECT_THROW(cache_t(bad([](auto& c) { c.online.window = 10; })), belady::invalid_argument);
  EXPECT_THROW(cache_t(bad([](auto& c) { c.online.ab_fraction = 0.5; })), belady::invalid_argument);
  EXPECT_THROW(cache_t(bad([](auto& c) { c.online.rollback_threshold = 0.01; })), belady::invalid_argument);
  EXPECT_THROW(cache_t(bad([](auto& c) { c.online.min_eval_requests = 10; })), belady::invalid_argument);
  EXPECT_THROW(cache_t(bad([](auto& c) { c.eviction = belady::policy::lru; })), belady::invalid_argument);
  try {
    cache_t(bad([](auto& c) { c.online.sample_rate = 1.5; }));
  } catch (const belady::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("online.sample_rate"), std::string::npos) << e.what();
  }
  cache_t off(belady::cache_config{.capacity = 1024, .eviction = belady::policy::learned, .executor = belady::backend::host});
  EXPECT_FALSE(off.online_status().enabled);
  EXPECT_THROW(off.online_step(), belady::invalid_argument);
}

// A loop over 1.5 x capacity keys: LRU (and the recency baseline) never hit; keeping the keys
// that were just used is right, and the time to the next use falls as the idle time grows, which
// the trainer can learn from the labels. The learner must promote a model and the live hit ratio
// must rise well above the baseline's.
TEST(OnlineLearning, PromotesACandidateThatWinsAndTheHitRatioRises) {
  const std::size_t capacity = 8192;
  auto config = online_config(capacity, 0.05);
  config.online.train_every_samples = 3000;
  config.online.watch_samples = 2000;
  cache_t c(config);
  const std::uint64_t loop = capacity * 3 / 2;
  std::size_t hits_first = 0, hits_last = 0;
  const std::size_t rounds = 40;
  for (std::size_t r = 0; r < rounds; ++r) {
    for (std::uint64_t k = 1; k <= loop; ++k) {
      const bool hit = serve(c, k);
      if (r == 1) hits_first += hit;
      if (r == rounds - 1) hits_last += hit;
      if (k % 1000 == 0) c.online_step();
    }
  }
  const auto rep = c.online_status();
  ASSERT_GE(rep.promotions, 1u) << (rep.decisions.empty() ? std::string("no decisions") : rep.decisions.back().reason);
  const auto promoted = std::find_if(rep.decisions.begin(), rep.decisions.end(), [](const online_decision& d) {
    return d.what == online_decision::kind::promoted;
  });
  EXPECT_LT(promoted->p_value, 0.01);
  EXPECT_GE(promoted->eval_requests, 1000u);
  EXPECT_LT(promoted->sim_miss_candidate, promoted->sim_miss_active);
  EXPECT_GT(rep.active_version, 1u);
  EXPECT_LT(double(hits_first), 0.05 * double(loop));
  EXPECT_GT(double(hits_last), 0.25 * double(loop)) << "first " << hits_first << " last " << hits_last;
}

// A model with inverted scores (evict the most recently used) installed by hand on a zipf
// workload: the watch sees the live hit ratio fall past the threshold, rolls back, and the hit
// ratio recovers.
TEST(OnlineLearning, RollsBackADeliberatelyBadModelAndTheHitRatioRecovers) {
  auto config = online_config(4096, 0.01);
  config.online.train_every_samples = 1u << 30;  // no training: only the watch acts
  config.online.watch_min_requests = 2000;
  config.online.watch_samples = 1u << 30;
  cache_t c(config);
  std::mt19937_64 rng(11);
  std::vector<double> cdf;
  const int n_keys = 40'000;
  double sum = 0;
  for (int i = 1; i <= n_keys; ++i) cdf.push_back(sum += 1.0 / std::pow(double(i), 0.9));
  auto draw = [&] {
    const double u = std::uniform_real_distribution<double>(0, sum)(rng);
    return std::uint64_t(std::lower_bound(cdf.begin(), cdf.end(), u) - cdf.begin()) + 1;
  };
  auto run = [&](std::size_t n) {
    std::size_t hits = 0;
    for (std::size_t i = 0; i < n; ++i) {
      hits += serve(c, draw());
      if (i % 500 == 499) c.online_step();
    }
    return double(hits) / double(n);
  };
  (void)run(60'000);  // warm
  const double before = run(20'000);
  const std::uint64_t good = c.models().active_version();
  belady::model::model_params bad;
  bad.kind = belady::model::model_kind::linear;
  for (int i = 0; i < belady::model::feature_count; ++i) bad.inv_std[i] = 1.0f;
  bad.w[0] = -1.0f;  // inverted recency: evicts the slot used last
  const std::uint64_t bad_version = c.models().install(bad);
  (void)run(10'000);
  const auto rep = c.online_status();
  ASSERT_EQ(count_kind(rep, online_decision::kind::rolled_back), 1u);
  const auto& d = *std::find_if(rep.decisions.begin(), rep.decisions.end(),
                                [](const online_decision& x) { return x.what == online_decision::kind::rolled_back; });
  EXPECT_EQ(d.version, bad_version);
  EXPECT_LT(d.hit_after, d.hit_before * 0.95);
  EXPECT_EQ(c.models().active_version(), good);
  const auto rec = c.models().record(bad_version);
  ASSERT_TRUE(rec.has_value());
  EXPECT_EQ(rec->state, belady::model::model_state::rolled_back);
  const double after = run(20'000);
  EXPECT_GT(after, before * 0.95) << "before " << before << " after " << after;
}

// A training round that diverges (an unbounded step makes the weights overflow) is recorded as a
// failure; the cache keeps serving with the model it had.
TEST(OnlineLearning, AFailedTrainingRoundLeavesTheActiveModel) {
  auto config = online_config(4096, 0.05);
  config.online.train_every_samples = 2000;
  config.online.learning_rate = 1e38f;  // a few Adam steps of this size overflow a float
  config.online.max_learning_rate = 1e38f;
  config.online.epochs = 8;
  cache_t c(config);
  const std::uint64_t before = c.models().active_version();
  std::mt19937_64 rng(5);
  for (int i = 0; i < 200'000; ++i) {
    serve(c, rng() % 20'000);
    if (i % 1000 == 999) c.online_step();
  }
  const auto rep = c.online_status();
  ASSERT_GE(rep.failures, 1u) << rep.training_rounds << " rounds, " << rep.promotions << " promoted";
  EXPECT_NE(rep.last_error.find("non-finite"), std::string::npos) << rep.last_error;
  EXPECT_EQ(rep.promotions, 0u);
  EXPECT_EQ(c.models().active_version(), before);
  EXPECT_TRUE(serve(c, 12345) || true);  // still serving
}

// The background thread: concurrent clients, the loop running, a clean shutdown.
TEST(OnlineLearning, TrainerThreadRunsBesideConcurrentClients) {
  auto config = online_config(1 << 14, 0.05);
  config.online.manual = false;
  config.online.poll_interval_ms = 2;
  config.online.train_every_samples = 2000;
  config.online.train_interval_ms = 0;
  config.host_threads = 2;
  {
    cache_t c(config);
    std::vector<std::thread> clients;
    for (int t = 0; t < 2; ++t)
      clients.emplace_back([&c, t] {
        std::mt19937_64 rng(t + 1);
        std::vector<std::uint64_t> keys(256);
        std::vector<float> v(keys.size());
        std::unique_ptr<bool[]> found(new bool[keys.size()]);
        const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(1500);
        while (std::chrono::steady_clock::now() < end) {
          for (auto& k : keys) k = rng() % 60'000 + 1;
          (void)c.find(keys, v, std::span<bool>(found.get(), keys.size()));
          (void)c.insert_or_assign(keys, v);
        }
      });
    for (auto& t : clients) t.join();
    // The trainer drains on its own schedule: on a loaded machine (a sanitizer build beside other
    // tests) its first drain may come after the clients stop. Give it time rather than race it.
    auto r = c.online_status();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (r.sampled_events == 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      r = c.online_status();
    }
    EXPECT_GT(r.sampled_events, 0u);
    EXPECT_EQ(r.failures, 0u) << r.last_error;
  }
}

// The live A/B test's bucket group: about ab_fraction of the buckets, and none when it is off.
TEST(OnlineLearning, CandidateGroupHoldsTheConfiguredShareOfBuckets) {
  for (double fraction : {0.01, 0.05, 0.10}) {
    const auto threshold = static_cast<std::uint64_t>(fraction * 18446744073709551615.0);
    std::size_t in = 0;
    const std::size_t buckets = 200'000;
    for (std::uint64_t b = 0; b < buckets; ++b) in += belady::detail::in_candidate_group(b, threshold);
    EXPECT_NEAR(double(in) / double(buckets), fraction, 0.1 * fraction + 0.002) << fraction;
  }
  for (std::uint64_t b = 0; b < 1000; ++b) EXPECT_FALSE(belady::detail::in_candidate_group(b, 0));
}

namespace {

// A hot set the cache could hold, interleaved with a scan of keys never seen again that is larger
// than the cache. The live hit ratio of the hot set with no training (only the baseline serves).
double hot_hit_ratio_under_baseline(float newcomer_shift, float frequency_weight) {
  auto config = online_config(4096, 0.01);
  config.online.train_every_samples = 1u << 30;  // the baseline serves throughout
  config.online.baseline_newcomer_shift = newcomer_shift;
  config.online.baseline_frequency_weight = frequency_weight;
  cache_t c(config);
  std::mt19937_64 rng(21);
  std::uint64_t next_scan = 1u << 20;
  std::size_t hot_hits = 0, hot_requests = 0;
  for (int round = 0; round < 12; ++round) {
    for (int i = 0; i < 6144; ++i) {
      // One hot request (2,048 keys) for every two scan keys.
      const bool hot = i % 3 == 0;
      const std::uint64_t key = hot ? 1 + rng() % 2048 : next_scan++;
      const bool hit = serve(c, key);
      if (hot && round >= 2) {
        ++hot_requests;
        hot_hits += hit;
      }
    }
  }
  return double(hot_hits) / double(hot_requests);
}

}  // namespace

// The baseline the learner starts from (version 1) is recency plus S3-FIFO's lesson about
// newcomers and a weight on frequency: a scan's keys, accessed once, leave before the hot keys
// that LRU would let them flush. Each part alone lets the scan pass; with both weights at 0 it is
// plain recency (LRU over the whole bucket).
TEST(OnlineLearning, BaselineLetsAScanPassWithoutFlushingTheHotSet) {
  const double recency = hot_hit_ratio_under_baseline(0.0f, 0.0f);
  const double newcomer = hot_hit_ratio_under_baseline(3.0f, 0.0f);
  const double frequency = hot_hit_ratio_under_baseline(0.0f, 1.0f);
  const double both = hot_hit_ratio_under_baseline(3.0f, 1.0f);
  EXPECT_GT(newcomer, recency + 0.15) << "recency " << recency << " newcomer-aware " << newcomer;
  EXPECT_GT(frequency, recency + 0.05) << "recency " << recency << " frequency " << frequency;
  EXPECT_GT(both, recency + 0.15) << "recency " << recency << " both " << both;

  cache_t defaults(online_config(4096, 0.01));
  auto config = online_config(4096, 0.01);
  config.online.baseline_newcomer_shift = 0.0f;
  config.online.baseline_frequency_weight = 0.0f;
  cache_t lru(config);
  EXPECT_TRUE(belady::model::ranks_by_recency_alone(lru.models().active()->params));
  const auto p = defaults.models().active()->params;
  EXPECT_FALSE(belady::model::ranks_by_recency_alone(p));
  EXPECT_EQ(p.w[belady::model::feature::log_delta], 1.0f);
  EXPECT_EQ(p.w[belady::model::feature::once], 3.0f);
  EXPECT_EQ(p.w[belady::model::feature::ghost], -3.0f);
  EXPECT_EQ(p.w[belady::model::feature::log_count], -1.0f);
  EXPECT_EQ(defaults.models().active_version(), 1u);
  // The registry's history says which baseline version 1 is.
  EXPECT_EQ(defaults.models().record(1)->info.note, "online learning's baseline: recency, newcomer shift 3, frequency weight 1");
  EXPECT_EQ(lru.models().record(1)->info.note, "online learning's baseline: recency (LRU over the whole bucket)");
}

TEST(OnlineLearning, BaselineWeightsOutOfRangeAreRejected) {
  // The error names the setting that was wrong.
  auto rejected_naming = [](const belady::cache_config& config) -> std::string {
    try {
      cache_t c(config);
    } catch (const belady::invalid_argument& e) {
      return e.what();
    }
    return "accepted";
  };
  auto config = online_config(4096, 0.01);
  config.online.baseline_newcomer_shift = 9.0f;
  EXPECT_NE(rejected_naming(config).find("online.baseline_newcomer_shift"), std::string::npos);
  config.online.baseline_newcomer_shift = -1.0f;
  EXPECT_NE(rejected_naming(config).find("online.baseline_newcomer_shift"), std::string::npos);
  config.online.baseline_newcomer_shift = 3.0f;
  config.online.baseline_frequency_weight = 5.0f;
  EXPECT_NE(rejected_naming(config).find("online.baseline_frequency_weight"), std::string::npos);
  config.online.baseline_frequency_weight = 0.0f;
  EXPECT_EQ(rejected_naming(config), "accepted");
  config.online.baseline_gap_weight = 2.5f;
  EXPECT_NE(rejected_naming(config).find("online.baseline_gap_weight"), std::string::npos);
  config.online.baseline_gap_weight = -0.25f;
  EXPECT_NE(rejected_naming(config).find("online.baseline_gap_weight"), std::string::npos);
  config.online.baseline_gap_weight = 0.25f;
  EXPECT_EQ(rejected_naming(config), "accepted");
}

namespace {

// One bucket of 16 slots, every slot a candidate, only the baseline serving. Two keys with the
// same accesses and about the same recency: `cycling` was last requested before `bursty` but
// had a long gap before that; `bursty` was requested twice in a row. The 14 others are requested
// often and recently, so the eviction chooses between these two. Returns whether `cycling`
// survived a newcomer's insert.
bool long_gap_key_survives(float gap_weight) {
  auto config = online_config(16, 0.01);
  config.bucket_size = 16;
  config.learned_candidates = 16;
  config.online.train_every_samples = 1u << 30;
  config.online.baseline_gap_weight = gap_weight;
  cache_t c(config);
  const std::uint64_t cycling = 1000, bursty = 2000, newcomer = 3000;
  EXPECT_FALSE(serve(c, cycling));
  for (std::uint64_t k = 1; k <= 14; ++k) EXPECT_FALSE(serve(c, k));
  for (int round = 0; round < 20; ++round)
    for (std::uint64_t k = 1; k <= 14; ++k) EXPECT_TRUE(serve(c, k));
  EXPECT_TRUE(serve(c, cycling));  // its gap: about 300 ticks
  EXPECT_FALSE(serve(c, bursty));
  EXPECT_TRUE(serve(c, bursty));  // its gap: 1 tick
  for (int round = 0; round < 20; ++round)
    for (std::uint64_t k = 1; k <= 14; ++k) EXPECT_TRUE(serve(c, k));
  EXPECT_FALSE(serve(c, newcomer));  // the bucket is full: one of the two leaves
  const std::uint64_t keys[2] = {cycling, bursty};
  bool found[2] = {false, false};
  EXPECT_EQ(c.contains(keys, found), 1u);
  return found[0];
}

}  // namespace

// The optional gap weight: a key on a long cycle outlives a key with a short gap that has gone
// quiet. Without it the older of the two (by a few ticks) leaves, as under recency.
TEST(OnlineLearning, BaselineGapWeightKeepsAKeyOnALongCycle) {
  EXPECT_FALSE(long_gap_key_survives(0.0f));
  EXPECT_TRUE(long_gap_key_survives(0.25f));

  auto config = online_config(4096, 0.01);
  config.online.baseline_gap_weight = 0.25f;
  cache_t c(config);
  const auto p = c.models().active()->params;
  EXPECT_EQ(p.w[belady::model::feature::log_gap1], -0.25f);
  EXPECT_EQ(p.w[belady::model::feature::log_count], -1.0f);
  EXPECT_EQ(c.models().record(1)->info.note,
            "online learning's baseline: recency, newcomer shift 3, frequency weight 1, gap weight 0.25");
  cache_t defaults(online_config(4096, 0.01));
  EXPECT_EQ(defaults.models().active()->params.w[belady::model::feature::log_gap1], 0.0f);
}
