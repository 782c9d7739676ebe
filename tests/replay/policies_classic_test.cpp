// The classic exact policies (FIFO, LFU, CLOCK, SIEVE, W-TinyLFU), plus LRU and OPT, on
// hand-worked sequences and pinned to published numbers:
//   * libCacheSim test/test_evictionAlgo.c: exact miss and byte-miss counts on
//     cloudPhysicsIO.oracleGeneral.bin at byte capacities 128 MiB .. 1 GiB (README appendix);
//   * ../shared/traces/PEERS.md: libCacheSim cachesim miss ratios on unit-size traces.
// Trace-backed tests skip (naming the path) when the shared traces are absent.
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <cctype>
#include <random>
#include <string>
#include <vector>

#include "exact_policy.hpp"
#include "trace_fixture.hpp"

using namespace belady::replay;
namespace fx = belady::replay::testing;

namespace {

using factory = std::unique_ptr<exact_policy> (*)(std::uint64_t);

std::vector<request> keys(std::initializer_list<std::uint64_t> ks) {
  std::vector<request> t;
  for (auto k : ks) t.push_back({k, 1, -1});
  annotate_next_access(t);
  return t;
}

std::vector<bool> hits_of(exact_policy& p, const std::vector<request>& t) {
  std::vector<bool> h;
  for (const auto& r : t) h.push_back(p.access(r));
  return h;
}

// "H"/"m" per request, for readable failure messages.
std::string pattern(const std::vector<bool>& h) {
  std::string s;
  for (bool b : h) s += b ? 'H' : 'm';
  return s;
}
std::string run_pattern(factory f, std::uint64_t capacity, std::initializer_list<std::uint64_t> ks) {
  auto p = f(capacity);
  return pattern(hits_of(*p, keys(ks)));
}

struct tally {
  std::uint64_t misses = 0, miss_bytes = 0;
};
tally replay(exact_policy& p, const std::vector<request>& t) {
  tally s;
  for (const auto& r : t) {
    if (!p.access(r)) {
      ++s.misses;
      s.miss_bytes += r.size;
    }
  }
  return s;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Hand-worked sequences (capacity in objects). Each comment traces the cache, newest first.

TEST(ExactFifo, HitsDoNotReorder) {
  // 1 2 3 -> [3 2 1]; 1 hit (no change); 4 evicts 1 -> [4 3 2]; 1 evicts 2; 2 evicts 3;
  // 3 evicts 4; 4 evicts 1. LRU would have kept 1 at the 4.
  EXPECT_EQ(run_pattern(make_fifo, 3, {1, 2, 3, 1, 4, 1, 2, 3, 4}), "mmmHmmmmm");
  EXPECT_EQ(run_pattern(make_lru, 3, {1, 2, 3, 1, 4, 1}), "mmmHmH");
}

TEST(ExactLfu, EvictsLeastFrequent) {
  // 1 reaches count 3; 2 (count 1) is the victim for 3, not the least recent 1; then 2 evicts 3.
  EXPECT_EQ(run_pattern(make_lfu, 2, {1, 1, 1, 2, 3, 1, 2}), "mHHmmHm");
}

TEST(ExactLfu, TiesGoToWhoReachedTheCountFirst) {
  // 1 and 2 both reach count 2, 2 first (so 2 is also the less recent): 3 evicts 2 even though
  // 1 was admitted earlier. Then 1 hits (count 3); 2 evicts 3 (count 1 < 3).
  EXPECT_EQ(run_pattern(make_lfu, 2, {1, 2, 2, 1, 3, 1, 2, 3}), "mmHHmHmm");
  // Counts are forgotten on eviction. 1 and 3 tie at count 3 and 1 got there first, so 2 evicts
  // 1; 1 comes back with count 1 (not 4), so 4 evicts 1 rather than 3, and 3 still hits.
  EXPECT_EQ(run_pattern(make_lfu, 2, {1, 1, 1, 2, 3, 3, 3, 2, 1, 4, 3}), "mHHmmHHmmmH");
}

TEST(ExactClock, SecondChanceRequeuesAsNewest) {
  // 1 2 3 -> [3 2 1]; 1 hit sets its bit; 4: 1 (bit) is re-queued -> [1 3 2], 2 evicted ->
  // [4 1 3]; 3 hit; 5: 3 (bit) re-queued -> [3 4 1], 1 evicted -> [5 3 4]; 1 evicts 4;
  // 4 evicts 3 (its bit was spent).
  EXPECT_EQ(run_pattern(make_clock, 3, {1, 2, 3, 1, 4, 3, 5, 1, 4}), "mmmHmHmmm");
}

TEST(ExactClock, OneBitCounter) {
  // Repeated hits still give one second chance only (libCacheSim n-bit-counter=1): 1 is hit 3
  // times, survives the first sweep for 3 (cleared, re-queued), and is evicted by 4.
  // [2 1] -> 3: 1 re-queued [1 2], 2 evicted -> [3 1]; 4: 1 evicted -> [4 3]; 1 misses.
  EXPECT_EQ(run_pattern(make_clock, 2, {1, 1, 1, 1, 2, 3, 4, 1}), "mHHHmmmm");
}

TEST(ExactSieve, HandStaysAndSurvivorsStayInPlace) {
  // NSDI '24 SIEVE: newcomers at the head; the hand moves from the tail toward the head.
  // 1 2 3 -> [3 2 1]; 1 hit (visited); 4: hand at 1 (visited: clear, step to 2), 2 evicted,
  //   hand rests on 3 -> [4 3 1];
  // 3 hit (visited); 5: hand at 3 (clear, step to 4), 4 evicted; 4 was the head, so the hand
  //   wraps to the tail for the next search -> [5 3 1];
  // 1 hits: it stayed in place, unlike CLOCK, which re-queued it ahead of 3 and evicted it;
  // 4: hand at the tail 1 (visited again: clear), step to 3 (cleared before), 3 evicted.
  EXPECT_EQ(run_pattern(make_sieve, 3, {1, 2, 3, 1, 4, 3, 5, 1, 4}), "mmmHmHmHm");
  EXPECT_EQ(run_pattern(make_clock, 3, {1, 2, 3, 1, 4, 3, 5, 1, 4}), "mmmHmHmmm");
}

TEST(ExactSieve, HandWrapsAroundWhenAllVisited) {
  // [2 1], both visited; 3: hand clears 1 and 2, wraps to the tail, evicts 1, rests on 2 ->
  // [3 2]; 1: 2 (cleared) evicted, hand rests on 3 -> [1 3]; 3 hit (visited); 2: hand clears 3,
  // steps to 1, evicts it; 1 was the head, hand wraps -> [2 3]; 1: hand at the tail 3 (cleared),
  // evicted.
  EXPECT_EQ(run_pattern(make_sieve, 2, {1, 2, 1, 2, 3, 1, 3, 2, 1, 2}), "mmHHmmHmmH");
}

TEST(ExactWTinyLfu, NewcomersLandInTheWindow) {
  auto p = make_wtinylfu(1000);  // window 10, main 990
  EXPECT_FALSE(p->access({7, 1, -1}));
  EXPECT_TRUE(p->access({7, 1, -1}));
  EXPECT_EQ(p->occupied(), 1u);
}

TEST(ExactWTinyLfu, FrequentObjectsSurviveAScan) {
  // 1,000 objects: window 10, main 990 (probation 198, protected 792). 50 hot keys, then 1,000
  // fillers that push them out of the window into main (free while main has room), then one more
  // touch each: a main hit counts in the sketch and promotes to protected. A 100,000-key
  // one-pass scan then only ever duels probation's LRU object, so all 50 hot keys still hit.
  // LRU and FIFO lose them all.
  std::vector<request> t, hot;
  for (std::uint64_t k = 0; k < 50; ++k) hot.push_back({k, 1, -1});
  t = hot;
  for (std::uint64_t k = 0; k < 1000; ++k) t.push_back({500000 + k, 1, -1});
  t.insert(t.end(), hot.begin(), hot.end());
  for (std::uint64_t k = 0; k < 100000; ++k) t.push_back({1000000 + k, 1, -1});
  for (factory f : {make_wtinylfu, make_lru, make_fifo}) {
    auto p = f(1000);
    replay(*p, t);
    EXPECT_EQ(replay(*p, hot).misses, f == make_wtinylfu ? 0u : 50u) << p->name();
  }
}

TEST(ExactWTinyLfu, ObjectsLargerThanTheWindowAreNotCached) {
  auto p = make_wtinylfu(1000);  // bytes: window 10, main 990 (probation 198)
  EXPECT_FALSE(p->access({1, 11, -1}));
  EXPECT_FALSE(p->access({1, 11, -1}));
  EXPECT_EQ(p->occupied(), 0u);
  EXPECT_FALSE(p->access({2, 10, -1}));
  EXPECT_TRUE(p->access({2, 10, -1}));
}

// ---------------------------------------------------------------------------------------------
// Properties on random sized traces: capacity is respected, an object larger than the cache is
// never cached, every other miss is admitted (a repeat hits at once), and with room for
// everything only compulsory misses remain.

TEST(ExactClassicPolicies, RespectCapacityAndAdmitEveryFittingMiss) {
  std::mt19937_64 rng(12345);
  std::vector<request> t;
  for (int i = 0; i < 20000; ++i) {
    const std::uint64_t k = rng() % 400;
    t.push_back({k, static_cast<std::uint32_t>(1 + (k * 2654435761u) % 300), -1});
  }
  for (factory f : {make_fifo, make_lfu, make_clock, make_sieve}) {
    for (std::uint64_t cap : {250u, 1000u, 5000u, 20000u}) {
      auto p = f(cap);
      for (const auto& r : t) {
        p->access(r);
        ASSERT_LE(p->occupied(), cap) << p->name();
        const bool again = p->access(r);
        ASSERT_EQ(again, r.size <= cap) << p->name() << " cap " << cap << " key " << r.key;
      }
    }
  }
  auto w = make_wtinylfu(20000);  // window 200: larger objects are never cached
  for (const auto& r : t) {
    w->access(r);
    ASSERT_LE(w->occupied(), 20000u);
    ASSERT_EQ(w->access(r), r.size <= 200) << "key " << r.key;
  }
  std::uint64_t footprint = 0, unique = 0;
  {
    std::vector<bool> seen(400);
    for (const auto& r : t)
      if (!seen[r.key]) {
        seen[r.key] = true;
        footprint += r.size;
        ++unique;
      }
  }
  for (factory f : {make_fifo, make_lfu, make_clock, make_sieve, make_wtinylfu}) {
    auto p = f(footprint * 2);
    EXPECT_EQ(replay(*p, t).misses, unique) << p->name();
  }
}

TEST(ExactClassicPolicies, Names) {
  EXPECT_EQ(make_fifo(10)->name(), "fifo");
  EXPECT_EQ(make_lfu(10)->name(), "lfu");
  EXPECT_EQ(make_clock(10)->name(), "clock");
  EXPECT_EQ(make_sieve(10)->name(), "sieve");
  EXPECT_EQ(make_wtinylfu(10)->name(), "wtinylfu");
}

// ---------------------------------------------------------------------------------------------
// libCacheSim test_evictionAlgo.c on cloudPhysicsIO (113,872 requests, 4,368,040,448 bytes),
// capacities k x 128 MiB, k = 1..8, in bytes. Every row here is reproduced exactly (misses and
// byte misses); the README's 0.005 tolerance on the miss ratio is checked as well.

namespace {

constexpr std::uint64_t cp_requests = 113872, cp_bytes = 4368040448ULL;

struct published_row {
  const char* policy;
  factory make;
  std::array<std::uint64_t, 8> misses;
  std::array<std::uint64_t, 8> miss_bytes;
};

const published_row cp_rows[] = {
    {"LRU", make_lru,
     {93374, 89783, 83572, 81722, 72494, 72104, 71972, 71704},
     {4214303232, 4061242368, 3778040320, 3660569600, 3100927488, 3078128640, 3075403776, 3061662720}},
    {"FIFO", make_fifo,
     {93403, 89386, 84387, 84025, 72498, 72228, 72182, 72140},
     {4213112832, 4052646400, 3829170176, 3807412736, 3093146112, 3079525888, 3079210496, 3077547520}},
    {"Clock", make_clock,
     {93313, 89775, 83411, 81328, 74815, 72283, 71927, 64456},
     {4213887488, 4064512000, 3762650624, 3644467200, 3256760832, 3091688448, 3074241024, 2697378816}},
    {"LFU", make_lfu,
     {91699, 86720, 78578, 76707, 69945, 66221, 64445, 64376},
     {4158632960, 3917211648, 3536227840, 3455379968, 3035580416, 2801699328, 2699456000, 2696345600}},
    {"Belady", make_opt,
     {79256, 70724, 65481, 61594, 59645, 57599, 50873, 48974},
     {3472532480, 2995165696, 2726689792, 2537648128, 2403427840, 2269212672, 2134992896, 2029769728}},
    // libCacheSim's Sieve row is identical to its LFU row, which the traces README takes for a
    // copy-paste placeholder. It is not: SIEVE really does miss exactly as LFU does on this trace
    // at all 8 sizes (an independent straight-from-the-paper SIEVE gives the same counts). The
    // hand-worked tests above pin SIEVE's mechanics; this row pins it on real data.
    {"Sieve", make_sieve,
     {91699, 86720, 78578, 76707, 69945, 66221, 64445, 64376},
     {4158632960, 3917211648, 3536227840, 3455379968, 3035580416, 2801699328, 2699456000, 2696345600}},
};

class LibCacheSimCloudPhysics : public ::testing::TestWithParam<published_row> {};

}  // namespace

TEST_P(LibCacheSimCloudPhysics, MatchesPublishedCounts) {
  const auto* t = fx::shared_trace("cloudPhysicsIO");
  if (t == nullptr) GTEST_SKIP() << fx::missing_trace("cloudPhysicsIO");
  ASSERT_EQ(t->size(), cp_requests);
  std::uint64_t bytes = 0;
  for (const auto& r : *t) bytes += r.size;
  ASSERT_EQ(bytes, cp_bytes);
  const auto& row = GetParam();
  for (int k = 0; k < 8; ++k) {
    const std::uint64_t cap = std::uint64_t(k + 1) << 27;
    auto p = row.make(cap);
    const auto s = replay(*p, *t);
    EXPECT_NEAR(double(s.misses) / cp_requests, double(row.misses[k]) / cp_requests, 0.005)
        << row.policy << " at " << (k + 1) * 128 << " MiB";
    EXPECT_EQ(s.misses, row.misses[k]) << row.policy << " at " << (k + 1) * 128 << " MiB";
    EXPECT_EQ(s.miss_bytes, row.miss_bytes[k]) << row.policy << " at " << (k + 1) * 128 << " MiB";
  }
}

INSTANTIATE_TEST_SUITE_P(Rows, LibCacheSimCloudPhysics, ::testing::ValuesIn(cp_rows),
                         [](const auto& info) { return std::string(info.param.policy); });

// ---------------------------------------------------------------------------------------------
// PEERS.md: libCacheSim cachesim, unit sizes, capacity in objects, whole trace. Miss ratios are
// given to 4 places; we allow the 0.005 the task sets (LRU and OPT land on the printed value;
// W-TinyLFU depends on hash collisions in its sketch, and how PEERS mapped keys to obj_ids before
// hashing is not recorded).

namespace {

struct peer_cell {
  const char* trace;
  std::uint64_t capacity;
  const char* policy;
  factory make;
  double miss_ratio;
};

const peer_cell peer_cells[] = {
    {"web12", 300, "lru", make_lru, 0.5099},
    {"OLTP", 1000, "lru", make_lru, 0.6717},
    {"scarab", 100000, "lru", make_lru, 0.2409},
    {"web12", 300, "opt", make_opt, 0.3317},
    {"OLTP", 1000, "opt", make_opt, 0.4639},
    {"cloudPhysicsIO", 10000, "opt", make_opt, 0.5431},
    {"orm-busy", 10000, "wtinylfu", make_wtinylfu, 0.0943},
    {"w106", 50000, "wtinylfu", make_wtinylfu, 0.0603},
    {"w106", 100000, "wtinylfu", make_wtinylfu, 0.0569},
};

class PeersMd : public ::testing::TestWithParam<peer_cell> {};

}  // namespace

TEST_P(PeersMd, MatchesLibCacheSim) {
  const auto& c = GetParam();
  const auto* stored = fx::shared_trace(c.trace);
  if (stored == nullptr) GTEST_SKIP() << fx::missing_trace(c.trace);
  std::vector<request> t = *stored;
  make_unit_size(t);  // cloudPhysicsIO: PEERS ignores sizes
  auto p = c.make(c.capacity);
  const auto s = replay(*p, t);
  EXPECT_NEAR(double(s.misses) / double(t.size()), c.miss_ratio, 0.005)
      << c.policy << " on " << c.trace << " at " << c.capacity << ": " << s.misses << " / " << t.size();
}

INSTANTIATE_TEST_SUITE_P(Cells, PeersMd, ::testing::ValuesIn(peer_cells), [](const auto& info) {
  std::string n = std::string(info.param.policy) + "_" + info.param.trace + "_" +
                  std::to_string(info.param.capacity);
  for (char& ch : n)
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return n;
});
