// Workload specialisation through the public API: the learner classifies the sampled stream,
// keeps a model per workload class and switches to the class's model when the workload changes
// (and back again); the ensemble mode serves a confidence-weighted mix; bad settings are refused.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <span>
#include <thread>
#include <belady/belady.hpp>
#include <belady/model/registry.hpp>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "common/synthetic.hpp"
#include "read_through.hpp"

namespace {

using belady::online_test::cache_t;
using belady::online_test::serve;
using belady::online_decision;

constexpr std::size_t zipfian = 1, looping = 3;  // workload_class indices

belady::cache_config specialising_config(bool ensemble) {
  belady::cache_config c = belady::online_test::online_config(4096, 0.25);
  c.online.train_every_samples = 4000;
  c.online.watch_samples = 3000;
  c.online.specialise.enabled = true;
  c.online.specialise.window = 4096;
  c.online.specialise.ensemble = ensemble;
  return c;
}


/// A hand-made model for loops larger than the cache: inverted recency (evict the slot used
/// last), which keeps most of the loop resident.
belady::model::model_params loop_model() {
  belady::model::model_params m;
  m.kind = belady::model::model_kind::linear;
  for (int i = 0; i < belady::model::feature_count; ++i) m.inv_std[i] = 1.0f;
  m.w[0] = -1.0f;
  return m;
}

/// zipf (alpha 0.9 over 40,000 keys), a loop over 1.2 x capacity keys, then zipf again (or, with
/// `blend_last`, zipf and the loop interleaved): the hit ratio of each phase's second half. Once
/// the learner has classified the loop as looping, the host activates loop_model(), which makes
/// it the looping class's model.
struct phases {
  double zipf1 = 0, loop = 0, last = 0;
  std::uint64_t loop_version = 0;
};

phases run_phases(cache_t& c, bool blend_last = false) {
  std::mt19937_64 rng(5);
  belady::workload::zipf_sampler ranks(40'000, 0.9);
  std::uint64_t served = 0;
  phases p;
  auto phase = [&](std::size_t n, auto&& next_key) {
    std::size_t hits = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const bool hit = serve(c, next_key(i));
      if (i >= n / 2) hits += hit;
      if (++served % 1000 == 0) {
        c.online_step();
        if (p.loop_version == 0 && c.online_status().specialisation.current_class == "looping")
          p.loop_version = c.models().install(loop_model());
      }
    }
    return double(hits) / double(n - n / 2);
  };
  auto zipf = [&](std::size_t) { return ranks(rng) + 1; };
  const std::uint64_t loop_keys = c.capacity() * 6 / 5;
  auto loop = [&](std::size_t i) { return 1'000'000 + i % loop_keys; };
  p.zipf1 = phase(300'000, zipf);
  p.loop = phase(40 * loop_keys, loop);
  if (blend_last)
    p.last = phase(200'000, [&](std::size_t i) { return i % 2 ? zipf(i) : loop(i / 2); });
  else
    p.last = phase(200'000, zipf);
  return p;
}

std::vector<online_decision> switches(const belady::online_report& r) {
  std::vector<online_decision> out;
  for (const auto& d : r.decisions)
    if (d.what == online_decision::kind::switched) out.push_back(d);
  return out;
}

std::string decisions_text(const belady::online_report& r) {
  std::string s;
  for (const auto& d : r.decisions) s += std::string(to_string(d.what)) + " " + std::to_string(d.version) + ": " + d.reason + "\n";
  return s;
}

}  // namespace

TEST(Specialisation, SwitchesToEachClassModelAndBack) {
  cache_t c(specialising_config(false));
  const phases p = run_phases(c);
  const auto r = c.online_status();
  const auto& s = r.specialisation;
  ASSERT_TRUE(s.enabled);
  EXPECT_GT(s.windows_per_class[zipfian], 0u);
  EXPECT_GT(s.windows_per_class[looping], 0u);
  ASSERT_NE(p.loop_version, 0u) << "the loop was never classified as looping\n" << decisions_text(r);
  const auto sw = switches(r);
  ASSERT_GE(s.switches, 2u) << decisions_text(r);
  // The host's loop model became the looping class's model (or the start of its line: the
  // learner may promote an improvement of it) and served the loop; the last switch returned to
  // zipfian and put the zipfian class's model back (one registry swap).
  EXPECT_GE(s.class_models[looping], p.loop_version);
  EXPECT_NE(sw.back().reason.find("workload class zipfian"), std::string::npos) << sw.back().reason;
  EXPECT_EQ(s.current_class, "zipfian");
  EXPECT_NE(s.class_models[zipfian], p.loop_version);
  EXPECT_EQ(c.models().active_version(), s.class_models[zipfian]) << decisions_text(r);
  EXPECT_TRUE(c.models().pinned(s.class_models[zipfian]));
  EXPECT_TRUE(c.models().pinned(s.class_models[looping]));
  EXPECT_GE(s.activations, 1u);
  EXPECT_GT(s.max_switch_us, 0.0);
  EXPECT_LT(s.max_switch_us, 50'000.0);  // a registry swap; the 50 us target is a benchmark's
  EXPECT_GT(p.loop, 0.5) << "inverted recency keeps most of a loop 1.2 x the capacity";
  EXPECT_GT(p.last, p.zipf1 - 0.02) << "zipf1 " << p.zipf1 << " zipf2 " << p.last;
  EXPECT_EQ(r.failures, 0u) << r.last_error;
}

TEST(Specialisation, EnsembleServesAConfidenceWeightedMix) {
  cache_t c(specialising_config(true));
  const phases p = run_phases(c, true);  // the last phase interleaves zipf and the loop
  const auto r = c.online_status();
  const auto& s = r.specialisation;
  ASSERT_NE(p.loop_version, 0u) << decisions_text(r);
  EXPECT_GE(s.class_models[looping], p.loop_version);
  EXPECT_GE(s.switches, 2u) << decisions_text(r);
  EXPECT_EQ(r.failures, 0u) << r.last_error;
  // The blend of zipf and loop weighs both class models: an ensemble of them was built and
  // installed, and every model that served is a class model or an ensemble.
  EXPECT_GE(s.ensembles, 1u) << decisions_text(r);
  bool saw_ensemble = false;
  for (const auto& rec : c.models().history())
    saw_ensemble = saw_ensemble || rec.info.note.rfind("ensemble", 0) == 0;
  EXPECT_TRUE(saw_ensemble);
  const auto active = c.models().active();
  const bool is_class_model =
      std::find(s.class_models.begin(), s.class_models.end(), active->version) != s.class_models.end();
  EXPECT_TRUE(is_class_model || active->info.note.rfind("ensemble", 0) == 0) << active->info.note;
  EXPECT_GT(p.loop, 0.5);
  EXPECT_GT(p.last, 0.2) << "zipf1 " << p.zipf1 << " blend " << p.last;
}

TEST(Specialisation, ValidatesItsSettings) {
  auto expect_refused = [](auto edit, const char* field) {
    auto config = specialising_config(false);
    edit(config.online.specialise);
    try {
      cache_t c(config);
      ADD_FAILURE() << field << " was accepted";
    } catch (const belady::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(field), std::string::npos) << e.what();
    }
  };
  expect_refused([](auto& s) { s.window = 100; }, "specialise.window");
  expect_refused([](auto& s) { s.min_confidence = 1.5; }, "specialise.min_confidence");
  expect_refused([](auto& s) { s.stride = 8192; }, "specialise.stride");  // above the window
  expect_refused([](auto& s) { s.stable_windows = 0; }, "specialise.stable_windows");
  auto off = specialising_config(false);
  off.online.specialise.enabled = false;
  off.online.specialise.window = 1;  // not checked when specialisation is off
  cache_t c(off);
  EXPECT_FALSE(c.online_status().specialisation.enabled);
}

// The trainer thread classifies and switches while clients serve (one a loop, one random keys)
// and an observer reads the report and the registry: the report stays consistent, no failure,
// and classifications happen. Run under TSan in CI.
TEST(Specialisation, TrainerThreadClassifiesBesideConcurrentClients) {
  auto config = belady::online_test::online_config(1 << 14, 0.05);
  config.online.manual = false;
  config.online.poll_interval_ms = 2;
  config.online.train_every_samples = 2000;
  config.online.train_interval_ms = 0;
  config.online.specialise.enabled = true;
  config.online.specialise.ensemble = true;
  config.online.specialise.window = 1024;
  config.online.specialise.stride = 256;
  config.online.specialise.stable_windows = 1;
  config.online.specialise.min_confidence = 0.2;  // the top of five classes always has 0.2
  config.host_threads = 2;
  cache_t c(config);
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t)
    threads.emplace_back([&c, &stop, t] {
      std::mt19937_64 rng(t + 1);
      std::vector<std::uint64_t> keys(256);
      std::vector<float> v(keys.size());
      std::unique_ptr<bool[]> found(new bool[keys.size()]);
      std::uint64_t next = 0;
      while (!stop.load()) {
        for (auto& k : keys) k = t == 0 ? 1'000'000 + next++ % 20'000 : rng() % 60'000 + 1;
        (void)c.find(keys, v, std::span<bool>(found.get(), keys.size()));
        (void)c.insert_or_assign(keys, v);
      }
    });
  std::atomic<int> inconsistent{0};
  threads.emplace_back([&] {
    while (!stop.load()) {
      const auto r = c.online_status();
      (void)c.models().history();
      std::uint64_t windows = 0;
      for (auto w : r.specialisation.windows_per_class) windows += w;
      if (windows != r.specialisation.classifications) ++inconsistent;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  });
  // At least 1.5 s of traffic, and until a class is current: at most 120 s, since under TSan
  // beside other tests on a 2-core machine the first classification has taken over 30 s (alone
  // it took 7 to 14 s there).
  const auto start = std::chrono::steady_clock::now();
  for (;;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    const auto elapsed = std::chrono::steady_clock::now() - start;
    if (elapsed > std::chrono::seconds(120)) break;
    if (elapsed > std::chrono::milliseconds(1500) && !c.online_status().specialisation.current_class.empty()) break;
  }
  stop = true;
  for (auto& t : threads) t.join();
  const auto r = c.online_status();
  EXPECT_EQ(inconsistent.load(), 0);
  EXPECT_GT(r.specialisation.classifications, 0u);
  EXPECT_FALSE(r.specialisation.current_class.empty());
  EXPECT_NE(c.metrics().workload_class, "");  // "none" or a class, never empty with specialisation
  EXPECT_EQ(r.failures, 0u) << r.last_error;
}

// Ensemble mode: a model the host activates becomes the current class's model while it is
// watched; when the watch rolls it back, the class's previous model is restored (and pinned), and
// the rolled-back one is no class's model any more.
TEST(Specialisation, EnsembleRollbackRestoresTheClassModel) {
  auto config = specialising_config(true);
  config.online.train_every_samples = 1u << 30;  // no training: only the watch acts
  config.online.watch_samples = 1u << 30;
  cache_t c(config);
  std::mt19937_64 rng(9);
  belady::workload::zipf_sampler ranks(40'000, 0.9);
  auto run = [&](std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
      (void)serve(c, ranks(rng) + 1);
      if (i % 1000 == 999) c.online_step();
    }
  };
  run(150'000);
  const auto before = c.online_status().specialisation;
  ASSERT_FALSE(before.current_class.empty());
  const std::vector<std::string> names{"uniform", "zipfian", "scan", "looping", "mixed"};
  const auto cls = std::size_t(std::find(names.begin(), names.end(), before.current_class) - names.begin());
  const std::uint64_t good = before.class_models[cls];
  ASSERT_NE(good, 0u);
  auto bad = loop_model();  // inverted recency: ruinous on zipf
  const std::uint64_t bad_version = c.models().install(bad);
  run(1'000);  // one step: the learner takes the host's model for the class and watches it
  EXPECT_EQ(c.online_status().specialisation.class_models[cls], bad_version);
  EXPECT_TRUE(c.models().pinned(good)) << "the replaced class model must stay pinned during the watch";
  for (int i = 0; i < 20; ++i) (void)c.models().install(loop_model(), {}, false);  // history pressure
  run(30'000);
  const auto r = c.online_status();
  ASSERT_GE(r.rollbacks, 1u) << decisions_text(r);
  const auto& s = r.specialisation;
  EXPECT_EQ(s.class_models[cls], good) << decisions_text(r);
  EXPECT_TRUE(c.models().pinned(good));
  EXPECT_FALSE(c.models().pinned(bad_version));
  EXPECT_EQ(r.failures, 0u) << r.last_error;
}
