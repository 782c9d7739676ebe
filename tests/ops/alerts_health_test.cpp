// Alert rules (validation, level changes, delivery to subscribers by the monitor thread), health
// (table verification that finds planted damage, degraded states), the trainer's restart with
// backoff while the cache serves, and the logger (replaceable, silent on the request path).
#include <gtest/gtest.h>

#include <belady/belady.hpp>
#include <belady/logging.hpp>
#include <belady/model/registry.hpp>

#include <spdlog/sinks/ringbuffer_sink.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <chrono>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "core/backend.hpp"
#include "ops/alert_monitor.hpp"

namespace {

using cache_t = belady::cache<std::uint64_t, float>;
using namespace std::chrono_literals;

belady::cache_config config() {
  belady::cache_config c;
  c.capacity = 1024;
  c.dim = 4;
  c.bucket_size = 16;
  c.executor = belady::backend::host;
  c.host_threads = 1;
  c.ops.alert_interval_ms = 5;
  return c;
}

std::span<bool> flags(std::vector<char>& v) { return {reinterpret_cast<bool*>(v.data()), v.size()}; }

/// n lookups of keys that were (or were not) inserted first.
void lookups(cache_t& c, std::size_t n, bool hit) {
  std::vector<std::uint64_t> keys(n);
  for (std::size_t i = 0; i < n; ++i) keys[i] = hit ? 1 + i % 100 : 1'000'000 + i;
  std::vector<float> values(n * 4, 1.0f);
  if (hit) c.insert_or_assign(std::span<const std::uint64_t>(keys).first(std::min<std::size_t>(n, 100)),
                              std::span<const float>(values).first(std::min<std::size_t>(n, 100) * 4));
  std::vector<char> found(n);
  c.find(keys, values, flags(found));
}

TEST(Alerts, BadRulesAreRefusedNamingTheRuleAndTheRulesInForceStay) {
  cache_t c(config());
  c.set_alert_rules({{belady::alert_metric::memory_bytes, 1e9, 2e9}});
  auto expect_refused = [&](belady::alert_rule r, const std::string& words) {
    try {
      c.set_alert_rules({{belady::alert_metric::memory_bytes, 1, 2}, r});
      FAIL() << "accepted";
    } catch (const belady::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find("alert rule 1"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(words), std::string::npos) << e.what();
    }
  };
  expect_refused({belady::alert_metric::hit_ratio, 0.5, 0.6}, "must be <= warning");
  expect_refused({belady::alert_metric::latency_p99_us, 100, 50}, "must be >= warning");
  expect_refused({belady::alert_metric::hit_ratio, 0.5, 0.4, 5}, "window_seconds must be 1, 10 or 60");
  expect_refused({belady::alert_metric::memory_bytes, std::nan(""), 1}, "finite");
  expect_refused({belady::alert_metric::prediction_accuracy, 1.5, 0.5}, "not a ratio");
  ASSERT_EQ(c.alert_rules().size(), 1u);
  EXPECT_EQ(c.alert_rules()[0].warning, 1e9);
  EXPECT_THROW(c.subscribe({}), belady::invalid_argument);
}

TEST(Alerts, HitRatioRuleGoesCriticalAndBackToOk) {
  cache_t c(config());
  c.set_alert_rules({{belady::alert_metric::hit_ratio, 0.5, 0.2, 60, 100}});
  lookups(c, 50, false);
  EXPECT_TRUE(c.evaluate_alerts().empty()) << "50 lookups are below min_samples";
  lookups(c, 1000, false);
  auto e = c.evaluate_alerts();
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].level, belady::alert_level::critical);
  EXPECT_EQ(e[0].previous, belady::alert_level::ok);
  EXPECT_DOUBLE_EQ(e[0].value, 0.0);
  EXPECT_NE(e[0].message.find("hit_ratio over 60 s is 0"), std::string::npos) << e[0].message;
  EXPECT_TRUE(c.evaluate_alerts().empty()) << "no change, no event";
  EXPECT_EQ(c.metrics().alerts_critical, 1u);
  EXPECT_EQ(c.health(false).status, belady::health_status::degraded);
  lookups(c, 60'000, true);  // 60000 hits after 1050 misses: ~0.98
  e = c.evaluate_alerts();
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].level, belady::alert_level::ok);
  EXPECT_EQ(e[0].previous, belady::alert_level::critical);
  EXPECT_EQ(c.health(false).status, belady::health_status::ok);
}

TEST(Alerts, MonitorThreadDeliversToSubscribersUntilUnsubscribed) {
  cache_t c(config());
  // Memory is always at least the table: a warning level of 1 byte is reached at once.
  c.set_alert_rules({{belady::alert_metric::memory_bytes, 1, 1e15}, {belady::alert_metric::latency_p99_us, 0, 1e12, 10, 1}});
  std::mutex mu;
  std::vector<belady::alert_event> got;
  const auto id = c.subscribe([&](const belady::alert_event& e) {
    std::lock_guard l(mu);
    got.push_back(e);
  });
  c.subscribe([](const belady::alert_event&) { throw std::runtime_error("a subscriber that throws"); });
  lookups(c, 10, false);
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  for (;;) {
    {
      std::lock_guard l(mu);
      if (got.size() >= 2) break;
    }
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "no alert from the monitor thread";
    std::this_thread::sleep_for(2ms);
  }
  {
    std::lock_guard l(mu);
    EXPECT_EQ(got[0].level, belady::alert_level::warning);
  }
  EXPECT_TRUE(c.unsubscribe(id));
  EXPECT_FALSE(c.unsubscribe(id));
  c.set_alert_rules({{belady::alert_metric::memory_bytes, 1, 2}});  // levels restart at ok: a new event
  std::this_thread::sleep_for(50ms);
  std::lock_guard l(mu);
  EXPECT_EQ(got.size(), 2u) << "nothing delivered after unsubscribe";
}

// Latency rules judge the internal histogram (within 1/32), not the coarse export buckets, and
// accumulate calls across evaluations until there are enough to judge.
TEST(AlertMonitor, LatencyIsJudgedPreciselyAndSlowTrafficAccumulates) {
  using belady::ops::latency_histogram;
  belady::ops::alert_monitor monitor;
  monitor.set_rules({{belady::alert_metric::latency_p99_us, 2000, 10000, 10, 100, belady::operation::find}});
  belady::ops::alert_monitor::fine_histograms fine;
  for (auto& f : fine) f.assign(latency_histogram::bucket_count, 0);
  const belady::metrics_snapshot m;
  auto add = [&](std::uint64_t ns, std::uint64_t calls) {
    fine[static_cast<int>(belady::operation::find)][static_cast<std::size_t>(latency_histogram::index_of(ns))] += calls;
  };
  add(1'100'000, 200);  // 1.1 ms: in the export's (1 ms, 2 ms] bucket, well below 2000 us
  EXPECT_TRUE(monitor.evaluate(m, fine).empty());
  add(50'000'000, 60);  // 60 calls at 50 ms: fewer than min_samples, not judged yet
  EXPECT_TRUE(monitor.evaluate(m, fine).empty());
  add(50'000'000, 60);  // 120 since the last judgement: judged now
  const auto e = monitor.evaluate(m, fine);
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].level, belady::alert_level::critical);
  EXPECT_NEAR(e[0].value, 50'000, 50'000 / 32.0);
  // A histogram older than the reference (counts never fall) is not judged.
  for (auto& f : fine) std::fill(f.begin(), f.end(), 0);
  EXPECT_TRUE(monitor.evaluate(m, fine).empty());
}

// A latency rule without an operation judges each operation on its own calls and takes the
// worst: a few slow inserts must not hide under many fast finds (merged, their p99 is the finds').
TEST(AlertMonitor, LatencyRuleWithoutAnOperationJudgesTheWorstOperation) {
  using belady::ops::latency_histogram;
  belady::ops::alert_monitor monitor;
  monitor.set_rules({{belady::alert_metric::latency_p99_us, 2000, 10000, 10, 50}});
  belady::ops::alert_monitor::fine_histograms fine;
  for (auto& f : fine) f.assign(latency_histogram::bucket_count, 0);
  const belady::metrics_snapshot m;
  auto add = [&](belady::operation op, std::uint64_t ns, std::uint64_t calls) {
    fine[static_cast<int>(op)][static_cast<std::size_t>(latency_histogram::index_of(ns))] += calls;
  };
  add(belady::operation::find, 50'000, 10'000);               // 50 us
  add(belady::operation::insert_or_assign, 50'000'000, 60);  // 50 ms
  const auto e = monitor.evaluate(m, fine);
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].level, belady::alert_level::critical);
  EXPECT_NEAR(e[0].value, 50'000, 50'000 / 32.0);
  EXPECT_NE(e[0].message.find("worst operation"), std::string::npos) << e[0].message;
  // Only the finds have enough calls to be judged now; the inserts, still slow, have a few
  // pending: they keep their p99 and the rule stays critical (no flapping to ok and back).
  add(belady::operation::find, 50'000, 10'000);
  add(belady::operation::insert_or_assign, 50'000'000, 10);
  EXPECT_TRUE(monitor.evaluate(m, fine).empty());
  // The inserts recover (1,000 fast ones outweigh the 10 slow at the 99th percentile): ok.
  add(belady::operation::insert_or_assign, 100'000, 1'000);
  add(belady::operation::find, 50'000, 100);
  const auto back = monitor.evaluate(m, fine);
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].level, belady::alert_level::ok);
  // An operation with no calls since it was judged drops out: a slow one that stopped being
  // called does not hold the rule at its level.
  add(belady::operation::insert_or_assign, 50'000'000, 100);
  ASSERT_EQ(monitor.evaluate(m, fine).size(), 1u);  // critical again
  add(belady::operation::find, 50'000, 100);
  const auto idle = monitor.evaluate(m, fine);
  ASSERT_EQ(idle.size(), 1u);
  EXPECT_EQ(idle[0].level, belady::alert_level::ok);
}

// Events reach subscribers in the order they were judged, also when a callback evaluates again
// on the delivering thread: its events queue behind the ones still being delivered.
TEST(AlertMonitor, NestedEvaluationsDeliverInJudgingOrder) {
  belady::ops::alert_monitor monitor;
  // Two memory rules: one evaluation raises both; the first one's callback evaluates again with
  // less memory, which clears both.
  monitor.set_rules({{belady::alert_metric::memory_bytes, 100, 1e15}, {belady::alert_metric::memory_bytes, 200, 1e15}});
  belady::ops::alert_monitor::fine_histograms fine;
  belady::metrics_snapshot high, low;
  high.host_bytes = 1000;
  low.host_bytes = 10;
  std::vector<std::pair<std::size_t, belady::alert_level>> seen;
  bool nested = false;
  monitor.subscribe([&](const belady::alert_event& e) {
    seen.emplace_back(e.rule, e.level);
    if (!nested) {
      nested = true;
      EXPECT_EQ(monitor.evaluate(low, fine).size(), 2u);  // judged now, delivered after
    }
  });
  EXPECT_EQ(monitor.evaluate(high, fine).size(), 2u);
  const std::vector<std::pair<std::size_t, belady::alert_level>> expected = {
      {0, belady::alert_level::warning}, {1, belady::alert_level::warning},
      {0, belady::alert_level::ok},      {1, belady::alert_level::ok}};
  EXPECT_EQ(seen, expected);
}

// After unsubscribe() returns, the callback is not running and is not called again: a caller may
// then free what it captured. unsubscribe() waits for a delivery under way on another thread.
TEST(AlertMonitor, UnsubscribeWaitsForACallbackInProgress) {
  belady::ops::alert_monitor monitor;
  monitor.set_rules({{belady::alert_metric::memory_bytes, 100, 1e15}, {belady::alert_metric::memory_bytes, 200, 1e15}});
  belady::ops::alert_monitor::fine_histograms fine;
  belady::metrics_snapshot high;
  high.host_bytes = 1000;
  std::atomic<bool> entered{false}, finished{false};
  std::atomic<int> calls{0};
  const auto id = monitor.subscribe([&](const belady::alert_event&) {
    ++calls;
    entered = true;
    std::this_thread::sleep_for(100ms);
    finished = true;
  });
  std::thread evaluator([&] { (void)monitor.evaluate(high, fine); });  // two events: two calls unless unsubscribed
  while (!entered) std::this_thread::sleep_for(1ms);
  EXPECT_TRUE(monitor.unsubscribe(id));
  EXPECT_TRUE(finished) << "unsubscribe returned while the callback was running";
  evaluator.join();
  EXPECT_EQ(calls, 1) << "called again after unsubscribe returned";
}

// A callback may call any member of the cache, evaluate_alerts() included: the events are
// delivered outside the lock that serialises evaluations. Before, this deadlocked; a watchdog
// ends the test process instead of letting it hang.
TEST(Alerts, CallbackMayEvaluateAgain) {
  cache_t c(config());
  c.set_alert_rules({{belady::alert_metric::memory_bytes, 1, 1e15}});
  std::atomic<int> calls{0};
  std::atomic<long> inner_events{-1};
  c.subscribe([&](const belady::alert_event&) {
    if (calls.fetch_add(1) == 0) inner_events = static_cast<long>(c.evaluate_alerts().size());
  });
  std::atomic<bool> done{false};
  std::thread watchdog([&] {
    for (int i = 0; i < 2000 && !done; ++i) std::this_thread::sleep_for(10ms);
    if (!done) {
      std::fprintf(stderr, "Alerts.CallbackMayEvaluateAgain: evaluate_alerts() from a callback deadlocked\n");
      std::_Exit(1);
    }
  });
  // The monitor thread or this call delivers the warning first; either way the callback's own
  // evaluation finds no new level change.
  (void)c.evaluate_alerts();
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (inner_events < 0 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(1ms);
  done = true;
  watchdog.join();
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(inner_events, 0);
}

TEST(Health, FreshAndBusyTablesVerify) {
  cache_t c(config());
  auto h = c.health();
  EXPECT_EQ(h.status, belady::health_status::ok);
  EXPECT_TRUE(h.table_checked);
  EXPECT_EQ(h.keys, 0u);
  std::mt19937_64 rng(2);
  for (int b = 0; b < 200; ++b) {
    std::vector<std::uint64_t> keys(64);
    for (auto& k : keys) k = 1 + rng() % 5000;
    std::vector<float> values(64 * 4, 1.0f);
    c.insert_or_assign(keys, values);
    if (b % 3 == 0) c.erase(std::span<const std::uint64_t>(keys).first(10));
  }
  h = c.health();
  EXPECT_EQ(h.status, belady::health_status::ok) << (h.problems.empty() ? "" : h.problems[0]);
  EXPECT_EQ(h.keys, c.size());
  EXPECT_EQ(h.duplicate_keys + h.misplaced_keys + h.count_mismatches, 0u);
}

// The verifier must find damage: plant a duplicate and a misplaced key in a backend directly.
TEST(Health, VerificationFindsPlantedDamage) {
  belady::detail::table_shape shape{64, 16, 16, belady::policy::lru};
  auto b = belady::detail::make_host_backend<std::uint64_t>(shape, 1);
  belady::detail::raw_slots<std::uint64_t> slots;
  auto bucket_of = [&](std::uint64_t k) { return belady::detail::bucket_of(belady::detail::mix64(k), shape.num_buckets); };
  std::uint64_t key = 1;
  while (bucket_of(key) != 5) ++key;
  std::uint64_t stranger = key + 1;
  while (bucket_of(stranger) == 5) ++stranger;
  for (const auto [slot, k] : {std::pair{5 * 16 + 0, key}, {5 * 16 + 3, key}, {5 * 16 + 7, stranger}}) {
    slots.slots.push_back(static_cast<std::uint64_t>(slot));
    slots.keys.push_back(k);
    slots.scores.push_back(0);
    slots.meta.push_back({});
    slots.values.resize(slots.values.size() + 16);
  }
  b->prepare_write_slots(slots, {})();
  const auto t = b->verify_table({});
  EXPECT_EQ(t.keys, 3u);
  EXPECT_EQ(t.duplicates, 1u);
  EXPECT_EQ(t.misplaced, 1u);
  EXPECT_EQ(t.count_mismatches, 0u);
}

// A trainer whose every round fails (an unbounded learning rate diverges) backs off and restarts
// while the cache keeps serving; health says degraded, naming the trainer.
TEST(Health, FailingTrainerRestartsWithBackoffAndTheCacheServes) {
  belady::cache_config c = config();
  c.eviction = belady::policy::learned;
  c.online.enabled = true;
  c.online.sample_rate = 0.05;
  c.online.horizon_capacities = 1;  // labels mature after one capacity of requests: rounds come soon
  c.online.poll_interval_ms = 1;
  c.online.train_interval_ms = 0;
  c.online.train_every_samples = 1000;
  c.online.learning_rate = 1e38f;
  c.online.max_learning_rate = 1e38f;
  c.online.epochs = 8;
  c.online.yield_load = 1e9;  // never suspend for load in this test
  c.ops.trainer_backoff_ms = 1;
  c.ops.trainer_backoff_max_ms = 4;
  c.ops.degraded_trainer_failures = 2;
  cache_t cache(c);
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  std::mt19937_64 rng(4);
  std::vector<std::uint64_t> keys(256);
  std::vector<float> values(256 * 4);
  std::vector<char> found(256);
  belady::health_report h;
  std::size_t served = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    for (auto& k : keys) k = 1 + rng() % 20'000;
    served += cache.find_or_insert(keys, values, flags(found)) + 1;
    // A pause between batches, as a real server has: the trainer runs at the lowest priority and
    // would barely run beside a client that never stops.
    std::this_thread::sleep_for(200us);
    h = cache.health(false);
    if (h.trainer_restarts >= 2 && h.status == belady::health_status::degraded) break;
  }
  EXPECT_GE(h.trainer_restarts, 2u);
  EXPECT_GE(h.trainer_consecutive_failures, 2u);
  ASSERT_EQ(h.status, belady::health_status::degraded);
  ASSERT_FALSE(h.problems.empty());
  EXPECT_NE(h.problems[0].find("online trainer failing"), std::string::npos) << h.problems[0];
  EXPECT_EQ(cache.models().active_version(), 1u) << "failures never replace the model";
  EXPECT_GT(served, 0u);
  EXPECT_EQ(cache.metrics().trainer_restarts, h.trainer_restarts);
}

// An allocation the cache could not get (a candidate log larger than the machine) is reported
// as degraded; the cache keeps what it had and keeps serving.
TEST(Health, AllocationFailureIsReportedAndTheCacheServes) {
  belady::cache_config c = config();
  c.eviction = belady::policy::learned;
  cache_t cache(c);
  lookups(cache, 100, true);
  EXPECT_THROW(cache.set_candidate_log(std::size_t{1} << 50), belady::out_of_memory);
  const auto h = cache.health();
  EXPECT_EQ(h.allocation_failures, 1u);
  ASSERT_EQ(h.status, belady::health_status::degraded);
  EXPECT_NE(h.problems.at(0).find("allocation failure"), std::string::npos) << h.problems[0];
  EXPECT_EQ(h.keys, 100u) << "nothing stored was lost";
  EXPECT_TRUE(cache.metrics().degraded);
}

// Two deliberately bad models installed by hand: each is rolled back by the watch, and two
// rollbacks within the window make health degraded.
TEST(Health, RepeatedRollbacksAreReported) {
  belady::cache_config c = config();
  c.capacity = 4096;
  c.dim = 1;
  c.bucket_size = 64;
  c.eviction = belady::policy::learned;
  c.online.enabled = true;
  c.online.manual = true;
  c.online.sample_rate = 0.01;
  c.online.train_every_samples = 1u << 30;  // no training: only the watch acts
  c.online.watch_min_requests = 2000;
  c.online.watch_samples = 1u << 30;
  c.ops.degraded_rollbacks = 2;
  cache_t cache(c);
  std::mt19937_64 rng(11);
  std::vector<double> cdf;
  double sum = 0;
  for (int i = 1; i <= 40'000; ++i) cdf.push_back(sum += 1.0 / std::pow(double(i), 0.9));
  auto run = [&](std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
      const double u = std::uniform_real_distribution<double>(0, sum)(rng);
      const std::uint64_t k[1] = {std::uint64_t(std::lower_bound(cdf.begin(), cdf.end(), u) - cdf.begin()) + 1};
      float v[1] = {0};
      bool found[1] = {false};
      if (cache.find(k, v, found) == 0) (void)cache.insert_or_assign(k, v);
      if (i % 500 == 499) cache.online_step();
    }
  };
  belady::model::model_params bad;
  bad.kind = belady::model::model_kind::linear;
  for (int i = 0; i < belady::model::feature_count; ++i) bad.inv_std[i] = 1.0f;
  bad.w[0] = -1.0f;  // inverted recency: evicts the slot used last
  run(60'000);
  EXPECT_EQ(cache.health(false).status, belady::health_status::ok);
  for (int round = 0; round < 2; ++round) {
    (void)cache.models().install(bad);
    run(20'000);
  }
  const auto h = cache.health(false);
  EXPECT_EQ(h.recent_rollbacks, 2u);
  ASSERT_EQ(h.status, belady::health_status::degraded);
  EXPECT_NE(h.problems.at(0).find("2 rollbacks"), std::string::npos) << h.problems[0];
  EXPECT_EQ(cache.metrics().rollbacks, 2u);
}

class LoggerCapture : public ::testing::Test {
 protected:
  void SetUp() override {
    sink_ = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(1000);
    auto l = std::make_shared<spdlog::logger>("belady", sink_);
    l->set_level(spdlog::level::trace);
    belady::set_logger(l);
  }
  void TearDown() override { belady::set_logger(nullptr); }
  std::vector<std::string> lines() { return sink_->last_formatted(); }
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink_;
};

TEST_F(LoggerCapture, RequestPathLogsNothingAndSnapshotsDo) {
  cache_t c(config());
  const auto before = lines().size();
  lookups(c, 10'000, true);
  lookups(c, 10'000, false);
  for (int i = 0; i < 100; ++i) lookups(c, 64, i % 2 == 0);
  EXPECT_EQ(lines().size(), before) << "a message on the per-request path: " << lines().back();
  const auto path = std::filesystem::temp_directory_path() / ("belady-log-" + std::to_string(::getpid()));
  c.save_snapshot(path);
  std::filesystem::remove(path);
  const auto after = lines();
  ASSERT_EQ(after.size(), before + 1);
  EXPECT_NE(after.back().find("snapshot saved"), std::string::npos) << after.back();
  belady::logger()->set_level(spdlog::level::off);
  c.save_snapshot(path);
  std::filesystem::remove(path);
  EXPECT_EQ(lines().size(), after.size()) << "silenced";
}

}  // namespace
