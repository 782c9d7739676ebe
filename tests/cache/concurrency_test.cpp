// Several application threads on one cache. Values encode their key (every element is
// key * 1000 + version), so a torn or misplaced value is visible; counts must add up exactly.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <random>
#include <thread>

#include "support/cache_harness.hpp"

namespace {

using belady::backend;
using belady::policy;
using belady_test::buffer;
using belady_test::scaled;
using Key = std::uint64_t;
using cache_t = belady::cache<Key, float>;

constexpr std::size_t dim = 8;
constexpr std::size_t app_threads = 6;

/// Mostly small batches (run by the calling thread), a quarter larger than the host executor's
/// grain of 256 keys (split over its pool threads).
template <class Rng>
std::size_t batch_size(Rng& rng) {
  return rng() % 4 == 0 ? 257 + rng() % 700 : 1 + rng() % 64;
}

float encode(Key key, std::uint64_t version) { return static_cast<float>(key * 1000 + version % 1000); }

/// Whether row `v` holds one version of `key` in every element.
bool consistent(Key key, const float* v) {
  const auto first = static_cast<std::uint64_t>(v[0]);
  if (first / 1000 != key) return false;
  for (std::size_t j = 1; j < dim; ++j)
    if (v[j] != v[0]) return false;
  return true;
}

/// The first problem seen by any thread, and how many there were.
class problems {
 public:
  void add(const std::string& what) {
    std::lock_guard lock(m_);
    if (count_++ == 0) first_ = what;
  }
  [[nodiscard]] std::size_t count() const { return count_; }
  [[nodiscard]] const std::string& first() const { return first_; }

 private:
  std::mutex m_;
  std::size_t count_ = 0;
  std::string first_;
};

void fill_values(buffer<float>& v, const std::vector<Key>& keys, std::uint64_t version) {
  for (std::size_t i = 0; i < keys.size(); ++i)
    for (std::size_t j = 0; j < dim; ++j) v[i * dim + j] = encode(keys[i], version);
}

/// The whole table: no key twice, size() agrees, every value consistent, every key in its bucket.
void check_table(const cache_t& c, problems& bad) {
  std::vector<Key> seen;
  const std::uint32_t bs = c.config().bucket_size;
  for (std::size_t b = 0; b < c.bucket_count(); ++b) {
    buffer<Key> k(bs);
    buffer<float> v(bs * dim);
    const std::size_t got = c.export_batch(b * bs, bs, k, v);
    for (std::size_t i = 0; i < got; ++i) {
      seen.push_back(k[i]);
      if (belady::detail::bucket_of(belady::detail::mix64(k[i]), c.bucket_count()) != b)
        bad.add("key " + std::to_string(k[i]) + " stored in the wrong bucket");
      if (!consistent(k[i], v.data() + i * dim)) bad.add("stored value of key " + std::to_string(k[i]) + " is torn");
    }
  }
  std::sort(seen.begin(), seen.end());
  if (std::adjacent_find(seen.begin(), seen.end()) != seen.end()) bad.add("a key is stored twice");
  if (c.size() != seen.size())
    bad.add("size() " + std::to_string(c.size()) + " but " + std::to_string(seen.size()) + " exported");
}

struct stress_case {
  backend executor;
  policy eviction;
  std::uint32_t host_threads;
  friend void PrintTo(const stress_case& c, std::ostream* os) {
    *os << belady::to_string(c.executor) << '/' << belady::to_string(c.eviction) << "/host_threads=" << c.host_threads;
  }
};

class ConcurrencyStress : public ::testing::TestWithParam<stress_case> {
 protected:
  void SetUp() override { BELADY_SKIP_UNLESS_USABLE(GetParam().executor); }
  cache_t make(std::size_t capacity, std::uint32_t bucket) const {
    return cache_t({.capacity = capacity,
                    .dim = dim,
                    .bucket_size = bucket,
                    .eviction = GetParam().eviction,
                    .executor = GetParam().executor,
                    .host_threads = GetParam().host_threads});
  }
  bool custom() const { return GetParam().eviction == policy::custom; }
};

// Every operation at once on a table much smaller than the key range (constant eviction). Afterwards the table is
// intact and the write counts add up: size == sum(inserted - evicted) - sum(erased), exactly.
TEST_P(ConcurrencyStress, MixedOperationsKeepValuesAndCountsConsistent) {
  cache_t c = make(2048, 16);
  const std::size_t batches = scaled(2500, 40);
  problems bad;
  std::atomic<std::int64_t> net{0};
  std::atomic<std::size_t> hits{0}, evictions{0};
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < app_threads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(1234 + t);
      for (std::size_t b = 0; b < batches; ++b) {
        const std::size_t n = batch_size(rng);
        std::vector<Key> keys(n);
        for (auto& k : keys) k = rng() % 8192;
        buffer<Key> kb(keys);
        buffer<float> vb(n * dim);
        fill_values(vb, keys, t * 100000 + b);
        buffer<std::uint64_t> sb(custom() ? n : 0);
        for (auto& s : sb) s = rng() % 1000;
        buffer<bool> fb(n);
        switch (rng() % 6) {
          case 0: {
            const std::size_t h = c.find(kb, vb, fb);
            hits += h;
            std::size_t flagged = 0;
            for (std::size_t i = 0; i < n; ++i) {
              flagged += fb[i];
              if (!consistent(keys[i], vb.data() + i * dim)) bad.add("find returned a torn or foreign value");
            }
            if (flagged != h) bad.add("find: count differs from the flags");
            break;
          }
          case 1: {
            const auto r = c.insert_or_assign(kb, vb, sb);
            if (r.inserted + r.assigned + r.refused != n) bad.add("insert_or_assign: counts do not cover the batch");
            net += static_cast<std::int64_t>(r.inserted) - static_cast<std::int64_t>(r.evicted);
            evictions += r.evicted;
            break;
          }
          case 2: {
            buffer<Key> ek(n);
            buffer<float> ev(n * dim);
            const auto r = c.insert_and_evict(kb, vb, ek, ev, {}, sb);
            if (r.inserted + r.assigned + r.refused != n) bad.add("insert_and_evict: counts do not cover the batch");
            for (std::size_t i = 0; i < r.handed_back(); ++i)
              if (!consistent(ek[i], ev.data() + i * dim)) bad.add("insert_and_evict handed back a torn value");
            net += static_cast<std::int64_t>(r.inserted) - static_cast<std::int64_t>(r.evicted);
            evictions += r.evicted;
            break;
          }
          case 3: {
            std::size_t erased_now = c.erase(kb);
            net -= static_cast<std::int64_t>(erased_now);
            break;
          }
          case 4: {
            const std::size_t h = c.contains(kb, fb);
            if (static_cast<std::size_t>(std::count(fb.begin(), fb.end(), true)) != h)
              bad.add("contains: count differs from the flags");
            break;
          }
          default: {
            c.assign(kb, vb, sb);
            break;
          }
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(bad.count(), 0u) << bad.first();
  problems after;
  check_table(c, after);
  EXPECT_EQ(after.count(), 0u) << after.first();
  EXPECT_EQ(static_cast<std::int64_t>(c.size()), net.load()) << "inserted - evicted - erased does not match size()";
  EXPECT_GT(hits.load(), 0u);
  EXPECT_GT(evictions.load(), 0u);
}

// find_or_insert joins in (it reports no insert counts, so only consistency is checked).
TEST_P(ConcurrencyStress, FindOrInsertAmongWritersReturnsConsistentValues) {
  cache_t c = make(2048, 16);
  const std::size_t batches = scaled(2000, 40);
  problems bad;
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < app_threads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(99 + t);
      for (std::size_t b = 0; b < batches; ++b) {
        const std::size_t n = batch_size(rng);
        std::vector<Key> keys(n);
        for (auto& k : keys) k = rng() % 6000;
        buffer<Key> kb(keys);
        buffer<float> vb(n * dim);
        fill_values(vb, keys, t * 100000 + b);
        buffer<std::uint64_t> sb(custom() ? n : 0);
        for (auto& s : sb) s = rng() % 1000;
        buffer<bool> fb(n);
        if (t % 2 == 0) {
          const std::size_t f = c.find_or_insert(kb, vb, fb, sb);
          if (static_cast<std::size_t>(std::count(fb.begin(), fb.end(), true)) != f)
            bad.add("find_or_insert: count differs from the flags");
          for (std::size_t i = 0; i < n; ++i)
            if (!consistent(keys[i], vb.data() + i * dim)) bad.add("find_or_insert returned a torn or foreign value");
        } else if (rng() % 3 == 0) {
          c.erase(kb);
        } else {
          c.insert_or_assign(kb, vb, sb);
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(bad.count(), 0u) << bad.first();
  problems after;
  check_table(c, after);
  EXPECT_EQ(after.count(), 0u) << after.first();
}

// Threads insert disjoint key sets into a table that has room for all of them: no key is lost,
// none is evicted, each thread always finds what it has inserted, and the final table is exact.
// Then they erase them again concurrently, with exact counts. Several rounds.
TEST_P(ConcurrencyStress, DisjointInsertsLoseNoKeys) {
  cache_t c = make(8192, 32);
  const std::size_t total = scaled(6000, 600);
  const std::size_t rounds = scaled(8, 1);
  const auto keys = belady_test::keys_that_fit<Key>(total, c.bucket_count(), 32, 1, 7);
  for (std::size_t round = 0; round < rounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    problems bad;
    std::atomic<std::size_t> inserted{0}, evicted{0}, erased{0};
    std::vector<std::thread> threads;
    for (std::size_t t = 0; t < app_threads; ++t) {
      threads.emplace_back([&, t] {
        std::vector<Key> mine;
        for (std::size_t i = t; i < keys.size(); i += app_threads) mine.push_back(keys[i]);
        std::mt19937_64 rng(7 + t + 100 * round);
        std::size_t done = 0;
        while (done < mine.size()) {
          const std::size_t n = std::min<std::size_t>(rng() % 8 == 0 ? 300 : 1 + rng() % 97, mine.size() - done);
          std::vector<Key> part(mine.begin() + done, mine.begin() + done + n);
          buffer<Key> kb(part);
          buffer<float> vb(n * dim);
          fill_values(vb, part, t);
          buffer<std::uint64_t> sb(custom() ? n : 0);
          for (auto& s : sb) s = 500;
          const auto r = c.insert_or_assign(kb, vb, sb);
          inserted += r.inserted;
          evicted += r.evicted + r.refused;
          done += n;
          // Everything this thread inserted so far is still there, with its value.
          std::vector<Key> sofar(mine.begin(), mine.begin() + done);
          buffer<Key> sk(sofar);
          buffer<float> sv(sofar.size() * dim);
          buffer<bool> sf(sofar.size());
          buffer<bool> cf(sofar.size());
          if (c.contains(sk, cf) != sofar.size()) bad.add("contains missed a key inserted by this thread");
          if (c.find(sk, sv, sf) != sofar.size()) bad.add("find missed a key inserted by this thread");
          for (std::size_t i = 0; i < sofar.size(); ++i)
            if (sv[i * dim] != encode(sofar[i], t) || !consistent(sofar[i], sv.data() + i * dim))
              bad.add("find returned a wrong value");
        }
      });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(bad.count(), 0u) << bad.first();
    EXPECT_EQ(inserted.load(), total);
    EXPECT_EQ(evicted.load(), 0u);
    EXPECT_EQ(c.size(), total);
    std::vector<belady_test::entry> want;
    for (std::size_t i = 0; i < keys.size(); ++i) {
      const std::vector<float> v(dim, encode(keys[i], i % app_threads));
      want.push_back(belady_test::make_entry(keys[i], v.data(), dim, 0));
    }
    auto got = belady_test::export_all(c);
    for (auto& e : got) e.score = 0;
    ASSERT_EQ(got, belady_test::sorted(want));

    // Erase everything again from all threads at once, each its own keys in a different order.
    threads.clear();
    for (std::size_t t = 0; t < app_threads; ++t) {
      threads.emplace_back([&, t] {
        std::vector<Key> mine;
        for (std::size_t i = t; i < keys.size(); i += app_threads) mine.push_back(keys[i]);
        std::reverse(mine.begin(), mine.end());
        for (std::size_t done = 0; done < mine.size(); done += 200) {
          std::vector<Key> part(mine.begin() + done, mine.begin() + std::min(done + 200, mine.size()));
          buffer<Key> kb(part);
          erased += c.erase(kb);
        }
      });
    }
    for (auto& th : threads) th.join();
    ASSERT_EQ(erased.load(), total);
    ASSERT_EQ(c.size(), 0u);
  }
}

// Finds and contains probe a bucket without its lock first (a miss never takes it), while other
// threads insert and erase keys in the same buckets, rewriting their digests and keys. Keys that
// stay resident the whole time must always be found, with their values. Nothing is evicted: the
// stable and churned keys fit their buckets together.
TEST_P(ConcurrencyStress, StableKeysAreFoundWhileTheirBucketsChurn) {
  cache_t c = make(8192, 32);
  const std::size_t n_stable = 2048, n_churn = scaled(4096, 1024);
  const auto keys = belady_test::keys_that_fit<Key>(n_stable + n_churn, c.bucket_count(), 32, 1, 3);
  const std::vector<Key> stable(keys.begin(), keys.begin() + n_stable);
  const std::vector<Key> churn(keys.begin() + n_stable, keys.end());
  {
    buffer<Key> kb(stable);
    buffer<float> vb(stable.size() * dim);
    fill_values(vb, stable, 1);
    buffer<std::uint64_t> sb(custom() ? stable.size() : 0);
    for (auto& x : sb) x = 500;
    ASSERT_EQ(c.insert_or_assign(kb, vb, sb).inserted, stable.size());
  }
  problems bad;
  constexpr std::size_t churners = 3;
  std::atomic<std::size_t> churning{churners};
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < churners; ++t)
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(31 + t);
      for (std::size_t round = 0; round < scaled(400, 40); ++round) {
        std::vector<Key> part;
        for (std::size_t i = t; i < churn.size(); i += churners)
          if (rng() % 2 == 0) part.push_back(churn[i]);
        buffer<Key> kb(part);
        buffer<float> vb(part.size() * dim);
        fill_values(vb, part, 2);
        buffer<std::uint64_t> sb(custom() ? part.size() : 0);
        for (auto& x : sb) x = 500;
        const auto r = c.insert_or_assign(kb, vb, sb);
        if (r.evicted + r.refused != 0) bad.add("the churn evicted: the keys were meant to fit");
        (void)c.erase(kb);
      }
      --churning;
    });
  for (std::size_t t = 0; t < 3; ++t)
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(77 + t);
      for (bool last = false; !last;) {
        last = churning.load() == 0;  // one more pass after the churn ends
        std::vector<Key> part;
        for (const Key k : stable)
          if (rng() % 8 == 0) part.push_back(k);
        buffer<Key> kb(part);
        buffer<bool> cf(part.size()), ff(part.size());
        buffer<float> vb(part.size() * dim);
        if (c.contains(kb, cf) != part.size()) bad.add("contains missed a resident key");
        if (c.find(kb, vb, ff) != part.size()) bad.add("find missed a resident key");
        for (std::size_t i = 0; i < part.size(); ++i)
          if (ff[i] && (vb[i * dim] != encode(part[i], 1) || !consistent(part[i], vb.data() + i * dim)))
            bad.add("find returned a wrong value");
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(bad.count(), 0u) << bad.first();
  EXPECT_EQ(c.size(), stable.size());
}

// Many writers on the same few keys: each key is inserted exactly once and then only assigned,
// so inserted == number of keys and inserted + assigned == every occurrence written.
TEST_P(ConcurrencyStress, SameKeysFromManyWritersInsertOnce) {
  cache_t c = make(4096, 64);
  const auto keys = belady_test::keys_that_fit<Key>(64, c.bucket_count(), 8);
  const std::size_t rounds = scaled(3000, 60);
  problems bad;
  std::atomic<std::size_t> inserted{0}, assigned{0}, other{0}, written{0};
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < app_threads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(31 + t);
      for (std::size_t r = 0; r < rounds; ++r) {
        const std::size_t n = rng() % 8 == 0 ? 300 + rng() % 300 : 1 + rng() % 32;
        std::vector<Key> part(n);
        for (auto& k : part) k = keys[rng() % keys.size()];
        buffer<Key> kb(part);
        buffer<float> vb(n * dim);
        fill_values(vb, part, t * 1000 + r);
        buffer<std::uint64_t> sb(custom() ? n : 0);
        if (t % 3 == 2) {
          buffer<bool> fb(n);
          c.find(kb, vb, fb);
          for (std::size_t i = 0; i < n; ++i)
            if (!consistent(part[i], vb.data() + i * dim)) bad.add("find returned a torn value");
        } else {
          const auto res = c.insert_or_assign(kb, vb, sb);
          inserted += res.inserted;
          assigned += res.assigned;
          other += res.evicted + res.refused;
          written += n;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(bad.count(), 0u) << bad.first();
  EXPECT_EQ(inserted.load(), keys.size());
  EXPECT_EQ(inserted.load() + assigned.load(), written.load());
  EXPECT_EQ(other.load(), 0u);
  EXPECT_EQ(c.size(), keys.size());
  problems after;
  check_table(c, after);
  EXPECT_EQ(after.count(), 0u) << after.first();
}

// Reserved keys in `_async` calls from several threads, each thread synchronizing after each of
// its calls: every reserved key is reported exactly once, by whichever synchronize() comes
// first after its batch; the batches that held one changed nothing, and the others all ran.
TEST_P(ConcurrencyStress, ReservedKeysOfAsyncCallsAreReportedOnceAcrossThreads) {
  cache_t c = make(65536, 32);  // room for every key: about 2 per bucket
  const std::size_t calls = scaled(100, 40);
  std::atomic<std::size_t> reserved_sent{0}, reported{0};
  problems bad;
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < app_threads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(31 + t);
      for (std::size_t call = 0; call < calls; ++call) {
        // Keys of this thread only; 1 to 6 of them reserved in one call of every 4.
        std::vector<Key> keys;
        for (std::size_t i = 0; i < 8; ++i) keys.push_back(t + 1 + app_threads * (call * 8 + i));
        std::size_t reserved = 0;
        if (call % 4 == 0) {
          reserved = 1 + rng() % 6;
          for (std::size_t i = 0; i < reserved; ++i) keys[i] = i % 2 == 0 ? belady::empty_key<Key> : belady::reclaim_key<Key>;
        }
        buffer<Key> kb(keys);
        buffer<float> vb(keys.size() * dim);
        for (std::size_t i = 0; i < keys.size(); ++i)
          for (std::size_t j = 0; j < dim; ++j) vb[i * dim + j] = encode(keys[i] & 0xffffff, 0);
        buffer<std::uint64_t> sb(custom() ? keys.size() : 0);
        reserved_sent += reserved;
        c.insert_or_assign_async(kb, vb, sb);
        try {
          c.synchronize();
        } catch (const belady::invalid_argument& e) {
          const std::string what = e.what();
          const auto at = what.find("keys: ");
          if (at == std::string::npos) {
            bad.add("report without the argument name: " + what);
          } else {
            reported += std::stoull(what.substr(at + 6));
          }
        }
        if (reserved != 0) {
          // Nothing of a rejected batch was stored, not even its valid keys.
          std::vector<Key> valid(keys.begin() + static_cast<std::ptrdiff_t>(reserved), keys.end());
          buffer<Key> vk(valid);
          buffer<bool> vf(valid.size());
          if (c.contains(vk, vf) != 0) bad.add("a rejected batch stored a key");
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  try {
    c.synchronize();
  } catch (const belady::invalid_argument& e) {
    const std::string what = e.what();
    const auto at = what.find("keys: ");
    ASSERT_NE(at, std::string::npos) << "report without the argument name: " << what;
    reported += std::stoull(what.substr(at + 6));
  }
  EXPECT_EQ(bad.count(), 0u) << bad.first();
  EXPECT_GT(reserved_sent.load(), 0u);
  EXPECT_EQ(reported.load(), reserved_sent.load());
  // Every accepted batch ran: 8 keys each, three of every four calls (the table holds them all).
  EXPECT_EQ(c.size(), app_threads * (calls - (calls + 3) / 4) * 8);
}

INSTANTIATE_TEST_SUITE_P(Cache, ConcurrencyStress,
                         ::testing::Values(stress_case{backend::host, policy::lru, 2},
                                           stress_case{backend::host, policy::custom, 4},
                                           stress_case{backend::host, policy::lfu, 3},
                                           stress_case{backend::cuda, policy::lru, 0},
                                           stress_case{backend::cuda, policy::custom, 0}),
                         [](const ::testing::TestParamInfo<stress_case>& info) {
                           return std::string(belady::to_string(info.param.executor)) + "_" +
                                  std::string(belady::to_string(info.param.eviction)) + "_threads" +
                                  std::to_string(info.param.host_threads);
                         });

}  // namespace
