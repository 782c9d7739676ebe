// Snapshots through the public API: exact round trips (contents, scores, metadata, so the restored
// cache evicts as the original would), the model registry, clear errors for mismatched, corrupt,
// truncated and missing files with the running cache unchanged, and crash consistency with a
// child process killed in the middle of a save.
#include <gtest/gtest.h>

#include <belady/belady.hpp>
#include <belady/model/registry.hpp>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>
#include <sys/wait.h>
#include <unistd.h>

#include "model/model_test_util.hpp"
#include "ops/cache_snapshot.hpp"
#include "ops/snapshot_file.hpp"
#include "ops/snapshot_workload.hpp"

namespace {

namespace fs = std::filesystem;
using belady_test::snap_cache;

// This process's scratch folder, removed when the process exits (ctest runs every test in its own
// process, so each would leave one behind otherwise). Children forked and exec'd into the snapshot
// helper share it by path; they exit through _exit or a signal and never remove it.
fs::path scratch(const std::string& name) {
  static const belady::model::test::temp_dir dir("snapshot");
  return dir.path() / name;
}

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const belady::snapshot_error& e) {
    return e.what();
  }
  return "no snapshot_error";
}

template <class Cache>
struct table_image {
  std::vector<std::uint64_t> keys, scores;
  std::vector<float> values;
  bool operator==(const table_image&) const = default;
};

template <class Cache>
table_image<Cache> image_of(const Cache& c) {
  table_image<Cache> t;
  const std::size_t n = c.capacity();
  std::vector<typename Cache::key_type> keys(n);
  std::vector<float> values(n * c.dim());
  std::vector<std::uint64_t> scores(n);
  const std::size_t got = c.export_batch(0, n, keys, values, scores);
  t.keys.assign(keys.begin(), keys.begin() + got);
  t.scores.assign(scores.begin(), scores.begin() + got);
  t.values.assign(values.begin(), values.begin() + got * c.dim());
  return t;
}

belady::cache_config small_config(belady::policy p, std::size_t dim = 4) {
  belady::cache_config c;
  c.capacity = 2048;
  c.dim = dim;
  c.bucket_size = 32;
  c.eviction = p;
  c.executor = belady::backend::host;
  c.host_threads = 1;
  return c;
}

/// A skewed stream of find-or-insert batches: it makes hits, misses and evictions.
template <class Cache>
std::vector<std::size_t> drive(Cache& c, std::uint64_t seed, int batches) {
  std::mt19937_64 rng(seed);
  std::vector<std::size_t> hits;
  for (int b = 0; b < batches; ++b) {
    std::vector<std::uint64_t> keys(64);
    for (auto& k : keys) k = 1 + (rng() % 8192) * (rng() % 4 == 0 ? 1 : 0) + rng() % 3000;
    std::vector<float> values(keys.size() * c.dim());
    for (std::size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>(keys[i / c.dim()]);
    std::vector<char> found(keys.size());
    hits.push_back(c.find_or_insert(keys, values, std::span<bool>(reinterpret_cast<bool*>(found.data()), found.size())));
  }
  return hits;
}

// Every policy's state survives: after a load, the same requests give the same hits and the same
// evictions (scores and metadata included), not only the same keys.
class SnapshotRoundTrip : public ::testing::TestWithParam<belady::policy> {};

TEST_P(SnapshotRoundTrip, RestoredCacheBehavesAsTheOriginal) {
  const auto policy = GetParam();
  if (policy == belady::policy::custom) GTEST_SKIP() << "custom needs caller scores; covered by the others";
  belady::cache<std::uint64_t, float> original(small_config(policy));
  drive(original, 1, 200);
  const fs::path path = scratch(std::string("round-trip-") + std::string(belady::to_string(policy)));
  original.save_snapshot(path);

  belady::cache<std::uint64_t, float> restored(small_config(policy));
  drive(restored, 99, 20);  // different contents before the load: the load replaces them
  restored.load_snapshot(path);
  EXPECT_EQ(restored.now(), original.now());
  EXPECT_EQ(restored.size(), original.size());
  EXPECT_TRUE(image_of(restored) == image_of(original));
  EXPECT_TRUE(restored.health().status == belady::health_status::ok);

  EXPECT_EQ(drive(restored, 7, 200), drive(original, 7, 200));
  EXPECT_TRUE(image_of(restored) == image_of(original)) << "the same evictions";

  const belady::snapshot_info info = belady::read_snapshot_info(path);
  EXPECT_EQ(info.format_version, 1u);
  EXPECT_EQ(info.key_bytes, 8u);
  EXPECT_EQ(info.value_type, "float32");
  EXPECT_EQ(info.dim, 4u);
  EXPECT_EQ(info.capacity, original.capacity());
  EXPECT_EQ(info.policy, belady::to_string(policy));
  EXPECT_GT(info.entries, 1000u);
  EXPECT_EQ(info.file_bytes, fs::file_size(path));
}

INSTANTIATE_TEST_SUITE_P(Policies, SnapshotRoundTrip,
                         ::testing::Values(belady::policy::lru, belady::policy::lfu, belady::policy::fifo,
                                           belady::policy::custom, belady::policy::learned),
                         [](const auto& info) { return std::string(belady::to_string(info.param)); });

// Snapshots written before slot_meta gained key_hash (56-byte metadata) still load: the file is
// rewritten here in that layout, and the restored learned cache must behave exactly as the
// original, ghost filter included (key_hash is rebuilt from the keys).
TEST(Snapshot, SnapshotsOfThe56ByteMetadataLayoutStillLoad) {
  belady::cache<std::uint64_t, float> original(small_config(belady::policy::learned));
  // Recency, and keys that come back after an eviction are kept longer: the ghost filter decides.
  belady::model::model_params p;
  p.kind = belady::model::model_kind::linear;
  for (int i = 0; i < belady::model::feature_count; ++i) p.inv_std[i] = 1.0f;
  p.w[0] = 1.0f;
  p.w[12] = -4.0f;
  original.models().install(p, {});
  drive(original, 3, 200);
  const fs::path current = scratch("meta-current"), legacy = scratch("meta-legacy");
  original.save_snapshot(current);

  const belady::ops::snapshot_file f = belady::ops::read_snapshot_file(current);
  std::vector<std::vector<std::byte>> data = f.data;
  std::size_t meta_index = f.tags.size();
  for (std::size_t i = 0; i < f.tags.size(); ++i) {
    if (f.tags[i] == belady::ops::tag_head) {
      belady::ops::snapshot_head h = belady::ops::snapshot_head::decode(data[i], "test");
      ASSERT_EQ(h.slot_meta_bytes, sizeof(belady::detail::slot_meta));
      h.slot_meta_bytes = belady::detail::slot_meta_bytes_v1;
      data[i] = h.encode();
    } else if (f.tags[i] == belady::ops::tag_meta) {
      meta_index = i;
      std::vector<std::byte> narrow;
      for (std::size_t at = 0; at < data[i].size(); at += sizeof(belady::detail::slot_meta))
        narrow.insert(narrow.end(), data[i].begin() + static_cast<std::ptrdiff_t>(at),
                      data[i].begin() + static_cast<std::ptrdiff_t>(at + belady::detail::slot_meta_bytes_v1));
      data[i] = std::move(narrow);
    }
  }
  ASSERT_LT(meta_index, f.tags.size());
  ASSERT_GT(data[meta_index].size(), 1000u * belady::detail::slot_meta_bytes_v1);
  std::vector<belady::ops::section_view> sections;
  for (std::size_t i = 0; i < f.tags.size(); ++i) sections.push_back({f.tags[i], data[i]});
  belady::ops::write_snapshot_file(legacy, sections);

  belady::cache<std::uint64_t, float> restored(small_config(belady::policy::learned));
  restored.load_snapshot(legacy);
  EXPECT_TRUE(image_of(restored) == image_of(original));
  EXPECT_EQ(drive(restored, 8, 200), drive(original, 8, 200));
  EXPECT_TRUE(image_of(restored) == image_of(original)) << "the same evictions";

  // Any other metadata size is still refused, naming the layout.
  data[meta_index].resize(data[meta_index].size() / belady::detail::slot_meta_bytes_v1 * 48);
  for (std::size_t i = 0; i < f.tags.size(); ++i)
    if (f.tags[i] == belady::ops::tag_head) {
      belady::ops::snapshot_head h = belady::ops::snapshot_head::decode(data[i], "test");
      h.slot_meta_bytes = 48;
      data[i] = h.encode();
    }
  sections.clear();
  for (std::size_t i = 0; i < f.tags.size(); ++i) sections.push_back({f.tags[i], data[i]});
  belady::ops::write_snapshot_file(legacy, sections);
  EXPECT_NE(message_of([&] { restored.load_snapshot(legacy); }).find("metadata bytes"), std::string::npos);
}

TEST(Snapshot, ModelRegistryHistoryAndActiveModelRoundTrip) {
  belady::cache<std::uint64_t, float> a(small_config(belady::policy::learned));
  belady::model::model_params p;
  p.kind = belady::model::model_kind::linear;
  for (int i = 0; i < belady::model::feature_count; ++i) p.inv_std[i] = 1.0f, p.w[i] = 0.01f * static_cast<float>(i);
  belady::model::model_info info;
  info.note = "first";
  const auto v1 = a.models().install(p, info);
  p.bias = 2.0f;
  const auto v2 = a.models().install(p, {});
  a.models().rollback("a test rollback");
  drive(a, 3, 50);
  const fs::path path = scratch("models");
  a.save_snapshot(path);

  belady::cache<std::uint64_t, float> b(small_config(belady::policy::learned));
  b.load_snapshot(path);
  EXPECT_EQ(b.models().active_version(), v1);
  ASSERT_EQ(b.models().history().size(), 2u);
  const auto r2 = b.models().record(v2);
  ASSERT_TRUE(r2.has_value());
  EXPECT_EQ(r2->state, belady::model::model_state::rolled_back);
  EXPECT_EQ(r2->state_reason, "a test rollback");
  EXPECT_EQ(b.models().record(v1)->info.note, "first");
  EXPECT_EQ(b.models().find(v2)->params.bias, 2.0f);
  EXPECT_EQ(b.models().latest_version(), v2);
  EXPECT_EQ(drive(b, 5, 100), drive(a, 5, 100)) << "the same model and contents evict the same";
}

// An online-learning cache needs an active model: a snapshot whose registry has none is refused;
// one with an active model loads, and the loop goes on from it without taking the load for an
// outside activation (no watch, no rollback of the restored model).
TEST(Snapshot, OnlineLearningCacheLoadsOnlySnapshotsWithAnActiveModel) {
  auto online = small_config(belady::policy::learned);
  online.online.enabled = true;
  online.online.manual = true;
  online.online.sample_rate = 0.5;
  belady::cache<std::uint64_t, float> plain(small_config(belady::policy::learned));
  belady::model::model_params p;
  for (int i = 0; i < belady::model::feature_count; ++i) p.inv_std[i] = 1.0f;
  p.w[0] = 0.5f;
  (void)plain.models().install(p, {}, /*activate*/ false);
  const fs::path shadow_only = scratch("shadow-only");
  plain.save_snapshot(shadow_only);
  belady::cache<std::uint64_t, float> c(online);
  drive(c, 1, 50);
  const auto before = image_of(c);
  const std::string msg = message_of([&] { c.load_snapshot(shadow_only); });
  EXPECT_NE(msg.find("no active model"), std::string::npos) << msg;
  EXPECT_TRUE(image_of(c) == before);
  EXPECT_EQ(c.models().active_version(), 1u);

  (void)plain.models().install(p);  // now active
  drive(plain, 2, 50);
  const fs::path with_active = scratch("with-active");
  plain.save_snapshot(with_active);
  c.load_snapshot(with_active);
  const auto restored = c.models().active_version();
  for (int i = 0; i < 20; ++i) {
    drive(c, 10 + i, 20);
    c.online_step();
  }
  EXPECT_EQ(c.models().active_version(), restored);
  for (const auto& d : c.online_status().decisions) EXPECT_NE(d.what, belady::online_decision::kind::rolled_back) << d.reason;
}

TEST(Snapshot, MismatchedCacheIsRefusedAndNothingChanges) {
  belady::cache<std::uint64_t, float> source(small_config(belady::policy::lru));
  drive(source, 1, 50);
  const fs::path path = scratch("mismatch");
  source.save_snapshot(path);

  auto check = [&](auto& target, const std::string& expected) {
    const auto before = image_of(target);
    const std::string msg = message_of([&] { target.load_snapshot(path); });
    EXPECT_NE(msg.find(expected), std::string::npos) << msg;
    EXPECT_NE(msg.find(path.string()), std::string::npos) << msg;
    EXPECT_TRUE(image_of(target) == before);
  };
  belady::cache<std::uint64_t, float> other_dim(small_config(belady::policy::lru, 8));
  drive(other_dim, 2, 10);
  check(other_dim, "dim 4, this cache has 8");
  belady::cache<std::uint64_t, float> other_policy(small_config(belady::policy::fifo));
  drive(other_policy, 2, 10);
  check(other_policy, "policy lru, this cache has fifo");
  auto bigger = small_config(belady::policy::lru);
  bigger.capacity = 4096;
  belady::cache<std::uint64_t, float> other_capacity(bigger);
  check(other_capacity, "capacity 2048, this cache has 4096");

  belady::cache<std::uint32_t, float> narrow_keys(small_config(belady::policy::lru));
  const std::string msg = message_of([&] { narrow_keys.load_snapshot(path); });
  EXPECT_NE(msg.find("key size 8 bytes, this cache has 4 bytes"), std::string::npos) << msg;
  belady::cache<std::uint64_t, belady::half> halves(small_config(belady::policy::lru));
  const std::string msg2 = message_of([&] { halves.load_snapshot(path); });
  EXPECT_NE(msg2.find("value type float32, this cache has float16"), std::string::npos) << msg2;
}

TEST(Snapshot, CorruptTruncatedOrMissingFilesGiveClearErrorsAndLeaveTheCache) {
  belady::cache<std::uint64_t, float> source(small_config(belady::policy::lru));
  drive(source, 1, 100);
  const fs::path good = scratch("good");
  source.save_snapshot(good);
  std::vector<char> bytes(fs::file_size(good));
  std::ifstream(good, std::ios::binary).read(bytes.data(), static_cast<std::streamsize>(bytes.size()));

  belady::cache<std::uint64_t, float> target(small_config(belady::policy::lru));
  drive(target, 2, 100);
  const auto before = image_of(target);
  auto load_bytes = [&](const std::vector<char>& b, const std::string& name) {
    const fs::path p = scratch(name);
    std::ofstream(p, std::ios::binary | std::ios::trunc).write(b.data(), static_cast<std::streamsize>(b.size()));
    return message_of([&] { target.load_snapshot(p); });
  };

  auto flipped = bytes;
  flipped[flipped.size() - 100] ^= 0x40;  // in the last section's payload
  EXPECT_NE(load_bytes(flipped, "flipped").find("bad checksum"), std::string::npos) << load_bytes(flipped, "flipped");
  auto truncated = bytes;
  truncated.resize(bytes.size() / 2);
  EXPECT_NE(load_bytes(truncated, "truncated").find("truncated"), std::string::npos) << load_bytes(truncated, "truncated");
  std::vector<char> garbage(4096, 'x');
  EXPECT_NE(load_bytes(garbage, "garbage").find("not a belady snapshot"), std::string::npos);
  const std::string missing = message_of([&] { target.load_snapshot(scratch("does-not-exist")); });
  EXPECT_NE(missing.find("does-not-exist"), std::string::npos) << missing;
  EXPECT_TRUE(image_of(target) == before) << "a failed load changes nothing";
  EXPECT_THROW((void)belady::read_snapshot_info(scratch("garbage")), belady::snapshot_error);

  // A failed save (no such folder) leaves the old file and throws naming the path.
  const std::string save = message_of([&] { source.save_snapshot(scratch("no-such-dir") / "x" / "snap"); });
  EXPECT_NE(save.find("no-such-dir"), std::string::npos) << save;
}

std::string child_binary() { return BELADY_SNAPSHOT_CHILD; }

// The child saves generation 0, then is killed by SIGKILL halfway through saving generation 1
// over the same path: the file must still be generation 0, complete.
TEST(SnapshotCrash, KilledInTheMiddleOfASaveLeavesThePreviousSnapshot) {
  const fs::path path = scratch("crash-self");
  fs::remove(path);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::execl(child_binary().c_str(), child_binary().c_str(), "self", path.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status)) << "exit status " << WEXITSTATUS(status);
  EXPECT_EQ(WTERMSIG(status), SIGKILL);
  auto c = belady_test::snapshot_cache();
  c.load_snapshot(path);
  EXPECT_EQ(belady_test::generation_of(c), 0);
}

// Killed from outside at arbitrary moments of repeated saves: every load is a whole generation.
TEST(SnapshotCrash, KilledFromOutsideAtRandomMomentsNeverLeavesAMix) {
  std::mt19937 rng(11);
  for (int round = 0; round < 4; ++round) {
    const fs::path path = scratch("crash-loop-" + std::to_string(round));
    fs::remove(path);
    int out[2];
    ASSERT_EQ(::pipe(out), 0);
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::dup2(out[1], 1);
      ::close(out[0]);
      ::execl(child_binary().c_str(), child_binary().c_str(), "loop", path.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(out[1]);
    char line[16] = {};
    ASSERT_GT(::read(out[0], line, sizeof line - 1), 0) << "the child did not start saving";
    std::this_thread::sleep_for(std::chrono::milliseconds(5 + rng() % 60));
    ::kill(pid, SIGKILL);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ::close(out[0]);
    auto c = belady_test::snapshot_cache();
    c.load_snapshot(path);
    const int g = belady_test::generation_of(c);
    EXPECT_TRUE(g == 0 || g == 1) << "round " << round << ": generation " << g;
  }
}

}  // namespace
