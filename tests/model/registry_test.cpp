// model_registry: versions, states, history limits, rollback, uploads, and a concurrent stress
// test (readers predicting on active() while a writer installs, activates and rolls back).
#include "belady/model/registry.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "model_test_util.hpp"

namespace bm = belady::model;
using bm::model_kind;
using bm::model_params;
using bm::model_registry;
using bm::model_state;
using bm::test::random_model;

namespace {

double test_scale() {
  const char* s = std::getenv("BELADY_TEST_SCALE");
  const double v = s ? std::atof(s) : 1.0;
  return v > 0 ? v : 1.0;
}

model_params linear_model(std::uint32_t seed) { return random_model(model_kind::linear, 0, seed); }

bm::model_uploader host_copy_uploader(std::atomic<int>* calls = nullptr) {
  return [calls](const model_params& p) -> std::shared_ptr<const void> {
    if (calls) calls->fetch_add(1);
    return std::make_shared<const model_params>(p);
  };
}

std::vector<std::uint64_t> kept_versions(const model_registry& r) {
  std::vector<std::uint64_t> v;
  for (const auto& rec : r.history()) v.push_back(rec.version);
  return v;
}

model_state state_of(const model_registry& r, std::uint64_t v) {
  const auto rec = r.record(v);
  EXPECT_TRUE(rec.has_value()) << "version " << v << " not kept";
  return rec ? rec->state : model_state::shadow;
}

template <class F>
std::string thrown_message(F&& f) {
  try {
    f();
  } catch (const belady::invalid_argument& e) {
    return e.what();
  }
  return "<nothing thrown>";
}

// ---- the stress test's model: every weight equals the version --------------------------------

// The kind and width each version gets, so a reader can tell a torn or mixed-up model.
model_kind kind_for(std::uint64_t v) { return v % 2 == 0 ? model_kind::linear : model_kind::mlp; }
std::uint32_t hidden_for(std::uint64_t v) { return kind_for(v) == model_kind::mlp ? 1 + v % bm::max_hidden : 0; }

model_params filled_model(std::uint64_t version) {
  const float v = static_cast<float>(version);
  model_params p{};
  p.kind = kind_for(version);
  p.hidden = hidden_for(version);
  for (int i = 0; i < bm::feature_count; ++i) {
    p.mean[i] = v;
    p.inv_std[i] = 1.0f;
  }
  if (p.kind == model_kind::linear) {
    for (float& w : p.w) w = v;
    p.bias = v;
  } else {
    for (std::uint32_t h = 0; h < p.hidden; ++h) {
      for (float& w : p.w1[h]) w = v;
      p.b1[h] = v;
      p.w2[h] = v;
    }
    p.b2 = v;
  }
  return p;
}

// Empty when `m` is exactly filled_model(m.version) with a matching backend copy; else what is wrong.
std::string check_filled(const bm::installed_model& m) {
  const float v = static_cast<float>(m.version);
  const model_params& p = m.params;
  if (p.kind != kind_for(m.version)) return "kind";
  if (p.hidden != hidden_for(m.version)) return "hidden";
  for (int i = 0; i < bm::feature_count; ++i)
    if (p.mean[i] != v || p.inv_std[i] != 1.0f) return "normalisation";
  if (p.kind == model_kind::linear) {
    for (float w : p.w)
      if (w != v) return "w";
    if (p.bias != v) return "bias";
  } else {
    for (std::uint32_t h = 0; h < p.hidden; ++h) {
      for (float w : p.w1[h])
        if (w != v) return "w1";
      if (p.b1[h] != v || p.w2[h] != v) return "b1/w2";
    }
    if (p.b2 != v) return "b2";
  }
  const model_params* backend = m.backend_params();
  if (backend == &m.params) return "no backend copy";
  if (std::memcmp(backend, &p, sizeof p) != 0) return "backend copy differs";
  // x = v + 1 normalises to 1 everywhere: linear y = 17 v; mlp y = v + hidden * v * 17 v.
  float x[bm::feature_count];
  for (float& xi : x) xi = v + 1.0f;
  const double expected = p.kind == model_kind::linear
                              ? 17.0 * v
                              : double(v) + double(p.hidden) * double(v) * 17.0 * double(v);
  const double y = bm::predict(*backend, x);
  if (std::fabs(y - expected) > 1e-5 * std::fabs(expected)) return "prediction";
  return {};
}

// ---- basics -------------------------------------------------------------------------------------

TEST(Registry, StartsEmpty) {
  model_registry r;
  EXPECT_EQ(r.active(), nullptr);
  EXPECT_EQ(r.active_version(), 0u);
  EXPECT_EQ(r.latest_version(), 0u);
  EXPECT_TRUE(r.history().empty());
  EXPECT_EQ(r.history_limit(), 16u);
  EXPECT_THROW(r.rollback("x"), belady::invalid_argument);
  EXPECT_EQ(r.find(1), nullptr);
  EXPECT_FALSE(r.record(1).has_value());
}

TEST(Registry, RejectsTooSmallHistory) {
  EXPECT_THROW(model_registry(bm::registry_config{.history_limit = 1}), belady::invalid_argument);
  EXPECT_NO_THROW(model_registry(bm::registry_config{.history_limit = 2}));
}

TEST(Registry, InstallAssignsVersionsAndMetadata) {
  model_registry r;
  const auto before = std::chrono::system_clock::now();
  const std::uint64_t v1 = r.install(linear_model(1), {.training_samples = 5000,
                                                       .validation_loss = 0.3,
                                                       .validation_accuracy = 0.9,
                                                       .note = "first"});
  const auto after = std::chrono::system_clock::now();
  EXPECT_EQ(v1, 1u);
  ASSERT_NE(r.active(), nullptr);
  EXPECT_EQ(r.active()->version, 1u);
  EXPECT_EQ(r.active()->parent_version, 0u);
  EXPECT_GE(r.active()->created_at, before);
  EXPECT_LE(r.active()->created_at, after);
  EXPECT_EQ(r.active()->backend_params(), &r.active()->params);  // no uploader: host params
  const auto rec = r.record(1);
  ASSERT_TRUE(rec.has_value());
  EXPECT_EQ(rec->state, model_state::active);
  EXPECT_EQ(rec->info.training_samples, 5000u);
  EXPECT_EQ(rec->info.validation_loss, 0.3);
  EXPECT_EQ(rec->info.validation_accuracy, 0.9);
  EXPECT_EQ(rec->info.note, "first");
  EXPECT_EQ(rec->kind, model_kind::linear);

  const std::uint64_t v2 = r.install(random_model(model_kind::mlp, 8, 2));
  EXPECT_EQ(v2, 2u);
  EXPECT_EQ(r.active_version(), 2u);
  EXPECT_EQ(r.active()->parent_version, 1u);
  EXPECT_EQ(state_of(r, 1), model_state::retired);
  EXPECT_EQ(state_of(r, 2), model_state::active);
  EXPECT_EQ(r.record(2)->hidden, 8u);
  EXPECT_EQ(r.latest_version(), 2u);
}

TEST(Registry, ShadowInstallLeavesActiveModel) {
  model_registry r;
  r.install(linear_model(1));
  const auto active = r.active();
  const std::uint64_t s = r.install(linear_model(2), {.note = "candidate"}, /*activate=*/false);
  EXPECT_EQ(s, 2u);
  EXPECT_EQ(r.active(), active);  // the very same object
  EXPECT_EQ(state_of(r, 2), model_state::shadow);
  EXPECT_EQ(r.find(2)->parent_version, 1u);
  r.activate(2);
  EXPECT_EQ(r.active_version(), 2u);
  EXPECT_EQ(state_of(r, 1), model_state::retired);
  r.activate(2);  // already active: nothing changes
  EXPECT_EQ(state_of(r, 1), model_state::retired);
  EXPECT_EQ(r.rollback("idempotent activate must not add an activation"), 1u);
}

TEST(Registry, FirstShadowInstallActivatesNothing) {
  model_registry r;
  r.install(linear_model(1), {}, false);
  EXPECT_EQ(r.active(), nullptr);
  r.activate(1);
  EXPECT_EQ(r.active_version(), 1u);
}

TEST(Registry, UnknownAndDroppedVersionsThrowNamingTheVersion) {
  model_registry r({.history_limit = 3});
  for (int i = 0; i < 5; ++i) r.install(linear_model(i));  // keeps 3, 4, 5
  EXPECT_EQ(kept_versions(r), (std::vector<std::uint64_t>{3, 4, 5}));
  const std::string unknown = thrown_message([&] { r.activate(42); });
  EXPECT_NE(unknown.find("version 42 is unknown"), std::string::npos) << unknown;
  const std::string dropped = thrown_message([&] { r.activate(1); });
  EXPECT_NE(dropped.find("version 1 was dropped"), std::string::npos) << dropped;
  const std::string zero = thrown_message([&] { r.rollback_to(0, "x"); });
  EXPECT_NE(zero.find("version 0 is unknown"), std::string::npos) << zero;
  const std::string dropped2 = thrown_message([&] { r.rollback_to(2, "x"); });
  EXPECT_NE(dropped2.find("rollback_to: model version 2 was dropped"), std::string::npos) << dropped2;
  EXPECT_EQ(r.active_version(), 5u);  // unchanged by the failed calls
  EXPECT_EQ(state_of(r, 5), model_state::active);
}

TEST(Registry, RollbackWalksBackThroughActivations) {
  model_registry r;
  for (int i = 1; i <= 4; ++i) r.install(linear_model(i));  // activations 1, 2, 3, 4
  EXPECT_EQ(r.rollback("hit ratio -7%"), 3u);
  EXPECT_EQ(r.active_version(), 3u);
  auto rec = r.record(4);
  EXPECT_EQ(rec->state, model_state::rolled_back);
  EXPECT_EQ(rec->state_reason, "hit ratio -7%");
  EXPECT_EQ(state_of(r, 3), model_state::active);
  EXPECT_TRUE(r.record(3)->state_reason.empty());
  EXPECT_EQ(r.rollback("again"), 2u);
  EXPECT_EQ(state_of(r, 3), model_state::rolled_back);
  EXPECT_EQ(r.rollback("and again"), 1u);
  const std::string msg = thrown_message([&] { r.rollback("nothing left"); });
  EXPECT_NE(msg.find("nothing to roll back to"), std::string::npos) << msg;
  EXPECT_EQ(r.active_version(), 1u);
  EXPECT_EQ(state_of(r, 1), model_state::active);
}

TEST(Registry, RollbackSkipsShadowsAndReturnsToPreviousActive) {
  model_registry r;
  r.install(linear_model(1));
  r.install(linear_model(2), {}, false);
  r.install(linear_model(3), {}, false);
  r.activate(3);
  EXPECT_EQ(r.rollback("bad"), 1u);
  EXPECT_EQ(state_of(r, 2), model_state::shadow);
  EXPECT_EQ(state_of(r, 3), model_state::rolled_back);
}

TEST(Registry, RollbackTo) {
  model_registry r;
  for (int i = 1; i <= 4; ++i) r.install(linear_model(i));  // activations 1, 2, 3, 4
  r.rollback_to(2, "regression");
  EXPECT_EQ(r.active_version(), 2u);
  EXPECT_EQ(state_of(r, 4), model_state::rolled_back);
  EXPECT_EQ(r.record(4)->state_reason, "regression");
  EXPECT_EQ(state_of(r, 3), model_state::retired);
  // 2 was an earlier activation: rollback() now returns to what preceded it.
  EXPECT_EQ(r.rollback("x"), 1u);

  // To a shadow: it replaces the current activation, so rollback() skips the rolled-back one.
  r.install(linear_model(5), {}, false);
  r.activate(3);  // activations 1, 3
  r.rollback_to(5, "try 5 instead");
  EXPECT_EQ(r.active_version(), 5u);
  EXPECT_EQ(state_of(r, 3), model_state::rolled_back);
  EXPECT_EQ(r.rollback("no"), 1u);
  r.rollback_to(1, "no-op");  // already active
  EXPECT_EQ(state_of(r, 1), model_state::active);
  EXPECT_TRUE(r.record(1)->state_reason.empty());
}

TEST(Registry, RollbackToNeedsAnActiveModel) {
  model_registry r;
  r.install(linear_model(1), {}, false);
  EXPECT_THROW(r.rollback_to(1, "x"), belady::invalid_argument);
  EXPECT_EQ(r.active(), nullptr);
}

TEST(Registry, HistoryLimitNeverDropsActiveOrRollbackTarget) {
  model_registry r;  // default limit 16
  r.install(linear_model(1));
  r.install(linear_model(2));  // active 2, rollback target 1
  for (int i = 0; i < 40; ++i) r.install(linear_model(100 + i), {}, false);
  const auto kept = kept_versions(r);
  ASSERT_EQ(kept.size(), 16u);
  EXPECT_EQ(kept[0], 1u);
  EXPECT_EQ(kept[1], 2u);
  EXPECT_EQ(kept.back(), 42u);
  EXPECT_EQ(kept[2], 29u);  // the 14 newest shadows
  EXPECT_EQ(r.rollback("old but protected"), 1u);
  // Now 1 is active and has no rollback target: 2 (rolled back) may go at the next install.
  r.install(linear_model(7), {}, false);
  EXPECT_EQ(kept_versions(r)[1], 29u);
  EXPECT_EQ(r.find(2), nullptr);
  EXPECT_EQ(r.history().size(), 16u);
}

TEST(Registry, PinnedVersionsAreNeverDropped) {
  model_registry r({.history_limit = 4});
  r.install(linear_model(1));           // active
  r.install(linear_model(2), {}, false);
  r.install(linear_model(3), {}, false);
  r.pin(2);
  r.pin(2);                             // again: nothing changes
  r.pin(3);                             // two pins: the most a history of 4 allows
  EXPECT_TRUE(r.pinned(2));
  EXPECT_FALSE(r.pinned(1));
  try {
    r.install(linear_model(4), {}, false);
    r.pin(4);
    ADD_FAILURE() << "a third pin in a history of 4 was accepted";
  } catch (const belady::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("allows 2"), std::string::npos) << e.what();
  }
  for (int i = 0; i < 10; ++i) r.install(linear_model(10 + i), {}, false);
  EXPECT_EQ(kept_versions(r), (std::vector<std::uint64_t>{1, 2, 3, 14}));
  EXPECT_THROW(r.pin(99), belady::invalid_argument);
  r.unpin(2);  // over no limit now: kept until the next install needs its place
  EXPECT_FALSE(r.pinned(2));
  r.install(linear_model(20), {}, false);
  EXPECT_EQ(kept_versions(r), (std::vector<std::uint64_t>{1, 3, 14, 15}));
  r.unpin(77);  // unknown: ignored
}

TEST(Registry, DroppedActivationsAreSkippedByRollback) {
  model_registry r({.history_limit = 3});
  r.install(linear_model(1));
  r.install(linear_model(2));
  r.install(linear_model(3));  // activations 1 2 3; kept 1 2 3
  r.install(linear_model(4));  // activations 1 2 3 4; 1 dropped (not active, not target)
  EXPECT_EQ(kept_versions(r), (std::vector<std::uint64_t>{2, 3, 4}));
  EXPECT_EQ(r.rollback("a"), 3u);
  EXPECT_EQ(r.rollback("b"), 2u);
  EXPECT_THROW(r.rollback("c"), belady::invalid_argument);  // 1 is gone
}

TEST(Registry, InvalidModelLeavesEverythingUnchanged) {
  model_registry r;
  r.install(linear_model(1));
  r.install(linear_model(2), {}, false);
  const auto active = r.active();
  const auto hist = r.history();
  model_params bad = random_model(model_kind::mlp, 4, 3);
  bad.w1[1][2] = std::numeric_limits<float>::quiet_NaN();
  try {
    r.install(bad);
    ADD_FAILURE() << "installed a NaN model";
  } catch (const bm::invalid_model& e) {
    EXPECT_NE(std::string(e.what()).find("w1[1][2] is NaN"), std::string::npos) << e.what();
  }
  bad = linear_model(4);
  bad.kind = static_cast<model_kind>(17);
  EXPECT_THROW(r.install(bad, {}, false), bm::invalid_model);
  EXPECT_EQ(r.active(), active);
  EXPECT_EQ(r.latest_version(), 2u);
  const auto hist2 = r.history();
  ASSERT_EQ(hist2.size(), hist.size());
  for (std::size_t i = 0; i < hist.size(); ++i) {
    EXPECT_EQ(hist2[i].version, hist[i].version);
    EXPECT_EQ(hist2[i].state, hist[i].state);
  }
}

TEST(Registry, UploaderMakesTheBackendCopy) {
  std::atomic<int> calls{0};
  model_registry r({.uploader = host_copy_uploader(&calls)});
  const model_params p = linear_model(1);
  r.install(p);
  EXPECT_EQ(calls.load(), 1);
  const auto m = r.active();
  ASSERT_NE(m->device_copy, nullptr);
  EXPECT_NE(m->backend_params(), &m->params);
  EXPECT_EQ(std::memcmp(m->backend_params(), &p, sizeof p), 0);
  r.install(linear_model(2), {}, false);
  EXPECT_EQ(calls.load(), 2);
}

TEST(Registry, ThrowingUploaderChangesNothing) {
  bool fail = false;
  model_registry r({.uploader = [&fail](const model_params& p) -> std::shared_ptr<const void> {
    if (fail) throw std::runtime_error("device out of memory");
    return std::make_shared<const model_params>(p);
  }});
  r.install(linear_model(1));
  fail = true;
  EXPECT_THROW(r.install(linear_model(2)), std::runtime_error);
  EXPECT_EQ(r.active_version(), 1u);
  EXPECT_EQ(r.latest_version(), 1u);
  EXPECT_EQ(r.history().size(), 1u);
  EXPECT_THROW(r.set_uploader([](const model_params&) -> std::shared_ptr<const void> {
    throw std::runtime_error("no");
  }),
               std::runtime_error);
  fail = false;
  EXPECT_EQ(r.install(linear_model(3)), 2u);
}

TEST(Registry, SetUploaderReuploadsKeptModels) {
  model_registry r;
  r.install(linear_model(1));
  r.install(linear_model(2), {}, false);
  const auto old_active = r.active();
  EXPECT_EQ(old_active->device_copy, nullptr);
  std::atomic<int> calls{0};
  r.set_uploader(host_copy_uploader(&calls));
  EXPECT_EQ(calls.load(), 2);
  const auto now_active = r.active();
  EXPECT_EQ(now_active->version, 1u);
  EXPECT_NE(now_active->device_copy, nullptr);
  EXPECT_NE(r.find(2)->device_copy, nullptr);
  EXPECT_EQ(old_active->device_copy, nullptr);  // holders of the old copy are unaffected
  EXPECT_EQ(state_of(r, 1), model_state::active);
}

TEST(Registry, SwappedOutModelStaysAliveWhileHeld) {
  std::atomic<int> live{0};
  model_registry r({.history_limit = 2, .uploader = [&live](const model_params& p) -> std::shared_ptr<const void> {
                     live.fetch_add(1);
                     return std::shared_ptr<const model_params>(new model_params(p), [&live](const model_params* q) {
                       live.fetch_sub(1);
                       delete q;
                     });
                   }});
  r.install(linear_model(1));
  const auto held = r.active();  // a batch in flight
  const float x[bm::feature_count] = {};
  const float y = bm::predict(*held->backend_params(), x);
  for (int i = 0; i < 5; ++i) r.install(linear_model(10 + i));
  EXPECT_EQ(r.find(1), nullptr);  // dropped from the history ...
  EXPECT_EQ(bm::predict(*held->backend_params(), x), y);  // ... but alive for its holder
  EXPECT_EQ(live.load(), 3);  // the held one + the two kept
}

TEST(Registry, CheckFilledHelperDetectsDefects) {
  // Test the stress test's checker: it must accept the right model and reject small defects.
  const auto make = [](std::uint64_t v, model_params p) {
    auto m = std::make_shared<bm::installed_model>();
    m->version = v;
    m->params = p;
    m->device_copy = std::make_shared<const model_params>(p);
    return m;
  };
  for (std::uint64_t v : {2u, 3u, 64u, 999u}) {
    EXPECT_EQ(check_filled(*make(v, filled_model(v))), "") << v;
    EXPECT_NE(check_filled(*make(v + 2, filled_model(v))), "") << v;
    model_params p = filled_model(v);
    if (p.kind == model_kind::linear)
      p.w[15] += 1.0f;
    else
      p.w1[p.hidden - 1][15] += 1.0f;
    EXPECT_NE(check_filled(*make(v, p)), "") << v;
    auto m = make(v, filled_model(v));
    auto differing = filled_model(v);
    differing.b2 += 1.0f;
    differing.bias += 1.0f;
    m->device_copy = std::make_shared<const model_params>(differing);
    EXPECT_EQ(check_filled(*m), "backend copy differs") << v;
    m->device_copy = nullptr;
    EXPECT_EQ(check_filled(*m), "no backend copy") << v;
  }
}

// ---- concurrency ----------------------------------------------------------------------------------

TEST(RegistryStress, ReadersAlwaysSeeACompleteModel) {
  const double scale = test_scale();
  const int operations = std::max(1000, static_cast<int>(10000 * scale));
  constexpr int readers = 3;
  model_registry r({.history_limit = 16, .uploader = host_copy_uploader()});
  r.install(filled_model(1));

  std::atomic<bool> done{false};
  std::atomic<long> checks{0};
  std::atomic<long> failures{0};
  std::atomic<int> ready{0};
  std::vector<std::set<std::uint64_t>> seen(readers);
  std::vector<std::string> first_failure(readers + 1);

  std::vector<std::thread> threads;
  for (int t = 0; t < readers; ++t) {
    threads.emplace_back([&, t] {
      std::vector<float> batch(64 * bm::feature_count);
      std::mt19937 rng(t);
      std::uniform_real_distribution<float> u(0.0f, 10.0f);
      for (float& f : batch) f = u(rng);
      bool announced = false;
      while (!done.load(std::memory_order_acquire)) {
        const auto m = r.active();  // once per "batch"
        if (!m) {
          failures.fetch_add(1);
          continue;
        }
        if (const std::string err = check_filled(*m); !err.empty()) {
          if (failures.fetch_add(1) == 0) first_failure[t] = "v" + std::to_string(m->version) + ": " + err;
        }
        float sink = 0;
        for (std::size_t k = 0; k < batch.size(); k += bm::feature_count)
          sink += bm::predict(*m->backend_params(), &batch[k]);
        if (!std::isfinite(sink)) failures.fetch_add(1);
        seen[t].insert(m->version);
        checks.fetch_add(1, std::memory_order_relaxed);
        if (!announced) {
          ready.fetch_add(1);
          announced = true;
        }
      }
    });
  }
  // A bookkeeping reader: history snapshots stay consistent while the writer works.
  threads.emplace_back([&] {
    while (!done.load(std::memory_order_acquire)) {
      const auto hist = r.history();
      int active = 0;
      for (std::size_t i = 0; i < hist.size(); ++i) {
        active += hist[i].state == model_state::active;
        if (i > 0 && hist[i].version <= hist[i - 1].version) failures.fetch_add(1);
      }
      if (active != 1 || hist.size() > r.history_limit()) {
        if (failures.fetch_add(1) == 0)
          first_failure[readers] = "history: " + std::to_string(active) + " active of " + std::to_string(hist.size());
      }
      if (!hist.empty()) {
        if (const auto m = r.find(hist.back().version); m && !check_filled(*m).empty()) failures.fetch_add(1);
      }
      std::this_thread::yield();
    }
  });
  while (ready.load() < readers) std::this_thread::yield();

  // The writer: installs (activated or shadow), activations, rollbacks, rollbacks to a version.
  std::mt19937 rng(1234);
  long installs = 1, activations = 0, rollbacks = 0, refused = 0;
  std::vector<std::uint64_t> shadows;
  // Refused calls (a dropped version, nothing to roll back to) do not count towards `operations`.
  for (long op = 0; installs + activations + rollbacks < operations; ++op) {
    const int dice = static_cast<int>(rng() % 100);
    const std::uint64_t next = r.latest_version() + 1;
    if (dice < 45) {
      EXPECT_EQ(r.install(filled_model(next), {.training_samples = next}), next);
      EXPECT_EQ(r.active_version(), next);
      ++installs;
    } else if (dice < 65) {
      EXPECT_EQ(r.install(filled_model(next), {}, false), next);
      shadows.push_back(next);
      ++installs;
    } else if (dice < 80 && !shadows.empty()) {
      // One of the latest shadows: older ones have mostly left the history.
      const std::uint64_t v = shadows[shadows.size() - 1 - rng() % std::min<std::size_t>(shadows.size(), 4)];
      try {
        r.activate(v);
        EXPECT_EQ(r.active_version(), v);
        ++activations;
      } catch (const belady::invalid_argument&) {
        ++refused;  // dropped from the history meanwhile: expected
        EXPECT_EQ(r.find(v), nullptr);
      }
    } else if (dice < 95) {
      try {
        r.rollback("stress");
        ++rollbacks;
      } catch (const belady::invalid_argument&) {
        ++refused;  // nothing to roll back to: expected after a run of rollbacks
      }
    } else {
      const std::uint64_t v = next > 5 ? next - 1 - rng() % 5 : 1;
      try {
        r.rollback_to(v, "stress to");
        EXPECT_EQ(r.active_version(), v);
        ++rollbacks;
      } catch (const belady::invalid_argument&) {
        ++refused;
      }
    }
    if (op % 64 == 0) std::this_thread::yield();  // let readers interleave on small machines
  }
  done.store(true, std::memory_order_release);
  for (auto& t : threads) t.join();

  std::set<std::uint64_t> all;
  for (const auto& s : seen) all.insert(s.begin(), s.end());
  std::cout << "[stress] scale " << scale << ": " << operations << " successful operations (" << installs << " installs, "
            << activations << " activations, " << rollbacks << " rollbacks, " << refused << " refused), "
            << checks.load() << " reader checks, " << all.size() << " distinct versions seen\n";
  for (const auto& f : first_failure) EXPECT_EQ(f, "");
  EXPECT_EQ(failures.load(), 0);
  EXPECT_GE(installs, operations / 3);
  EXPECT_GE(installs + activations + rollbacks, 1000);
  EXPECT_GT(checks.load(), 0);
  EXPECT_GE(all.size(), 2u) << "readers never observed a swap";
  EXPECT_LE(r.history().size(), 16u);
}

}  // namespace
