// Bad input: every rejected call throws belady::invalid_argument naming the argument
// ("belady: <argument>: ..."), and leaves the cache exactly as it was: same entries, same scores,
// and the logical clock not advanced (checked by a probe insert at the end of each test), except
// by a batch rejected for its reserved keys, which are checked on the stream after its tick.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <limits>
#include <optional>
#include <string>

#include "support/cache_harness.hpp"

namespace {

using belady::backend;
using belady::policy;
using belady_test::buffer;
using belady_test::entry;
using Key = std::uint64_t;
using cache_t = belady::cache<Key, float>;
using keys_t = std::span<const Key>;

constexpr std::size_t dim = 3;
constexpr std::size_t n = 4;

/// Runs f, which must throw belady::invalid_argument whose message names `arg` (and contains
/// `detail` when given).
template <class F>
void expect_invalid(F&& f, const std::string& arg, const std::string& detail = {}) {
  try {
    f();
    ADD_FAILURE() << "no exception; expected invalid_argument naming '" << arg << "'";
  } catch (const belady::invalid_argument& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("belady: " + arg + ":"), std::string::npos)
        << "message does not name '" << arg << "': " << what;
    if (!detail.empty()) {
      EXPECT_NE(what.find(detail), std::string::npos) << "message lacks '" << detail << "': " << what;
    }
  } catch (const std::exception& e) {
    ADD_FAILURE() << "wrong exception type for '" << arg << "': " << e.what();
  }
}

class Validation : public ::testing::TestWithParam<backend> {
 protected:
  void SetUp() override {
    BELADY_SKIP_UNLESS_USABLE(GetParam());
    for (const policy p : {policy::lru, policy::custom}) {
      auto& c = p == policy::lru ? lru_ : custom_;
      c.emplace(
          belady::cache_config{.capacity = 256, .dim = dim, .bucket_size = 8, .eviction = p, .executor = GetParam()});
      buffer<Key> k({1, 2, 3, 4, 5, 6, 7, 8});
      buffer<float> v(belady_test::value_from<float>(1, 8 * dim));
      buffer<std::uint64_t> s({5, 6, 7, 8, 9, 10, 11, 12});
      if (p == policy::custom) {
        ASSERT_EQ(c->insert_or_assign(k, v, s).inserted, 8u);
      } else {
        ASSERT_EQ(c->insert_or_assign(k, v).inserted, 8u);
      }
    }
    lru_before_ = belady_test::export_all(*lru_);
    custom_before_ = belady_test::export_all(*custom_);
  }

  void TearDown() override {
    if (!lru_) return;
    unchanged();
    // The clock: a probe inserted now must be stamped one past the valid calls made so far.
    buffer<Key> k({12345});
    buffer<float> v(dim);
    ASSERT_EQ(lru_->insert_or_assign(k, v).inserted, 1u);
    bool seen = false;
    for (const auto& e : belady_test::export_all(*lru_))
      if (e.key == 12345) {
        seen = true;
        EXPECT_EQ(e.score, lru_clock_ + 1) << "a rejected call advanced the clock";
      }
    EXPECT_TRUE(seen);
  }

  void unchanged() {
    EXPECT_EQ(belady_test::export_all(*lru_), lru_before_) << "a rejected call changed the lru cache";
    EXPECT_EQ(belady_test::export_all(*custom_), custom_before_) << "a rejected call changed the custom cache";
  }

  cache_t& lru() { return *lru_; }
  cache_t& custom() { return *custom_; }

  std::optional<cache_t> lru_, custom_;
  std::vector<entry> lru_before_, custom_before_;
  std::uint64_t lru_clock_ = 1;  ///< valid keyed calls made on the lru cache (SetUp's insert)
  // Valid arguments for a batch of n keys.
  buffer<Key> keys_{10, 11, 12, 13};
  buffer<float> values_{buffer<float>(n * dim)};
  buffer<bool> found_{buffer<bool>(n)};
  buffer<std::uint64_t> scores_{buffer<std::uint64_t>(n)};
  buffer<Key> ev_keys_{buffer<Key>(n)};
  buffer<float> ev_values_{buffer<float>(n * dim)};
  buffer<std::uint64_t> ev_scores_{buffer<std::uint64_t>(n)};
};

class ValidationOps : public Validation {
 public:
  // Public accessors for the op table.
  std::span<float> values(std::size_t count) { return {values_.data(), count * dim}; }
  std::span<bool> found(std::size_t count) { return {found_.data(), count}; }
  std::span<std::uint64_t> scores(std::size_t count) { return {scores_.data(), count}; }
  std::span<Key> ev_keys(std::size_t count) { return {ev_keys_.data(), count}; }
  std::span<float> ev_values(std::size_t count) { return {ev_values_.data(), count * dim}; }
};

std::vector<std::pair<const char*, std::function<void(cache_t&, keys_t, ValidationOps&, bool)>>> keyed_ops() {
  using S = std::span<const std::uint64_t>;
  // `custom`: pass scores (needed by policy::custom).
  return {
      {"find", [](cache_t& c, keys_t k, ValidationOps& t, bool) { c.find(k, t.values(k.size()), t.found(k.size())); }},
      {"find_async",
       [](cache_t& c, keys_t k, ValidationOps& t, bool) { c.find_async(k, t.values(k.size()), t.found(k.size())); }},
      {"contains", [](cache_t& c, keys_t k, ValidationOps& t, bool) { c.contains(k, t.found(k.size())); }},
      {"contains_async", [](cache_t& c, keys_t k, ValidationOps& t, bool) { c.contains_async(k, t.found(k.size())); }},
      {"insert_or_assign",
       [](cache_t& c, keys_t k, ValidationOps& t, bool cu) {
         c.insert_or_assign(k, t.values(k.size()), cu ? S(t.scores(k.size())) : S());
       }},
      {"insert_or_assign_async",
       [](cache_t& c, keys_t k, ValidationOps& t, bool cu) {
         c.insert_or_assign_async(k, t.values(k.size()), cu ? S(t.scores(k.size())) : S());
       }},
      {"insert_and_evict",
       [](cache_t& c, keys_t k, ValidationOps& t, bool cu) {
         c.insert_and_evict(k, t.values(k.size()), t.ev_keys(k.size()), t.ev_values(k.size()), {},
                            cu ? S(t.scores(k.size())) : S());
       }},
      {"find_or_insert",
       [](cache_t& c, keys_t k, ValidationOps& t, bool cu) {
         c.find_or_insert(k, t.values(k.size()), t.found(k.size()), cu ? S(t.scores(k.size())) : S());
       }},
      {"find_or_insert_async",
       [](cache_t& c, keys_t k, ValidationOps& t, bool cu) {
         c.find_or_insert_async(k, t.values(k.size()), t.found(k.size()), cu ? S(t.scores(k.size())) : S());
       }},
      {"assign", [](cache_t& c, keys_t k, ValidationOps& t, bool) { c.assign(k, t.values(k.size())); }},
      {"assign_async", [](cache_t& c, keys_t k, ValidationOps& t, bool) { c.assign_async(k, t.values(k.size())); }},
      {"erase", [](cache_t& c, keys_t k, ValidationOps&, bool) { c.erase(k); }},
      {"erase_async", [](cache_t& c, keys_t k, ValidationOps&, bool) { c.erase_async(k); }},
  };
}

bool is_async(const std::string& name) { return name.ends_with("_async"); }

TEST_P(ValidationOps, ReservedKeysAreRejectedByEveryKeyedOperation) {
  buffer<Key> with_empty{10, belady::empty_key<Key>, 11};
  buffer<Key> with_reclaim{belady::reclaim_key<Key>};
  for (const auto& [name, op] : keyed_ops()) {
    if (is_async(name)) continue;  // reported by synchronize(): the next test
    SCOPED_TRACE(name);
    for (const bool cu : {false, true}) {
      cache_t& c = cu ? custom() : lru();
      std::fill(found_.begin(), found_.end(), true);
      expect_invalid([&] { op(c, with_empty, *this, cu); }, "keys", "1 reserved key(s)");
      expect_invalid([&] { op(c, with_reclaim, *this, cu); }, "keys", "1 reserved key(s)");
      // Checked on the stream, before the batch's kernels (which then do nothing): the batch
      // had its tick.
      if (!cu) lru_clock_ += 2;
      for (std::size_t i = 0; i < n; ++i) EXPECT_TRUE(found_[i]) << "a rejected batch wrote found[" << i << "]";
      EXPECT_NO_THROW(c.synchronize()) << "a plain call's rejection was reported again, as an _async one";
    }
    unchanged();
  }
}

// An `_async` call cannot throw for its keys without waiting for them (on the cuda backend, a
// stream synchronization per call): a batch with a reserved key changes nothing, writes none of
// its outputs, and the next synchronize() throws with the count, once.
TEST_P(ValidationOps, ReservedKeysInAsyncCallsChangeNothingAndSynchronizeReportsThem) {
  buffer<Key> with_empty{10, belady::empty_key<Key>, 11};
  buffer<Key> with_reclaim{belady::reclaim_key<Key>, 12, belady::empty_key<Key>};
  for (const auto& [name, op] : keyed_ops()) {
    if (!is_async(name)) continue;
    SCOPED_TRACE(name);
    for (const bool cu : {false, true}) {
      cache_t& c = cu ? custom() : lru();
      std::fill(found_.begin(), found_.end(), true);
      std::fill(values_.begin(), values_.end(), -7.0f);
      EXPECT_NO_THROW(op(c, with_empty, *this, cu));
      EXPECT_NO_THROW(op(c, with_reclaim, *this, cu));
      if (!cu) lru_clock_ += 2;  // an accepted _async call has its tick, rejected or not
      expect_invalid([&] { c.synchronize(); }, "keys", "3 reserved key(s)");
      EXPECT_NO_THROW(c.synchronize()) << "reported twice";
      for (std::size_t i = 0; i < n; ++i) EXPECT_TRUE(found_[i]) << "a rejected batch wrote found[" << i << "]";
      for (std::size_t i = 0; i < n * dim; ++i) EXPECT_EQ(values_[i], -7.0f) << "a rejected batch wrote values";
    }
    unchanged();
  }
}

// A rejected `_async` batch does not hold back the calls after it, and its report names only
// the keys of the calls before the synchronize that reports them.
TEST_P(ValidationOps, AsyncCallsAfterARejectedOneRunAndReportsDoNotRepeat) {
  buffer<Key> bad{belady::empty_key<Key>};
  buffer<Key> good{40, 41};
  buffer<float> v(belady_test::value_from<float>(3, 2 * dim));
  lru().insert_or_assign_async(bad, {values_.data(), dim});
  lru().insert_or_assign_async(good, v);
  lru_clock_ += 2;
  expect_invalid([&] { lru().synchronize(); }, "keys", "1 reserved key(s)");
  buffer<bool> found(2);
  buffer<float> out(2 * dim);
  EXPECT_EQ(lru().find(good, out, found), 2u);
  ++lru_clock_;
  EXPECT_EQ(out.to_vector(), v.to_vector());
  lru().erase_async(good);
  ++lru_clock_;
  EXPECT_NO_THROW(lru().synchronize());
}

// The check counts a batch's keys in runs of 32 (one per lane on the device): every reserved key
// is counted wherever it falls, the first and last of a run, a partial last run included.
TEST_P(ValidationOps, ReservedKeysAreCountedAnywhereInALongBatch) {
  for (const std::size_t len : {1u, 31u, 32u, 33u, 95u, 1000u}) {
    std::vector<std::size_t> positions;
    for (const std::size_t p : {std::size_t{0}, std::size_t{31}, std::size_t{32}, std::size_t{63}, len - 1})
      if (p < len && (positions.empty() || positions.back() < p)) positions.push_back(p);
    std::vector<Key> host_keys(len);
    for (std::size_t i = 0; i < len; ++i) host_keys[i] = 1000 + i;
    for (std::size_t k = 0; k < positions.size(); ++k)
      host_keys[positions[k]] = k % 2 == 0 ? belady::empty_key<Key> : belady::reclaim_key<Key>;
    SCOPED_TRACE(std::to_string(len) + " keys, " + std::to_string(positions.size()) + " reserved");
    buffer<Key> keys(host_keys);
    buffer<bool> found(len);
    expect_invalid([&] { lru().contains(keys, found); }, "keys", std::to_string(positions.size()) + " reserved key(s)");
    lru().contains_async(keys, found);  // the same count, reported by synchronize()
    lru_clock_ += 2;
    expect_invalid([&] { lru().synchronize(); }, "keys", std::to_string(positions.size()) + " reserved key(s)");
  }
}

TEST_P(ValidationOps, NullKeysWithElementsAreRejectedByEveryKeyedOperation) {
  const keys_t null_keys(static_cast<const Key*>(nullptr), n);
  for (const auto& [name, op] : keyed_ops()) {
    SCOPED_TRACE(name);
    expect_invalid([&] { op(lru(), null_keys, *this, false); }, "keys", "null");
    expect_invalid([&] { op(custom(), null_keys, *this, true); }, "keys", "null");
  }
}

TEST_P(ValidationOps, NullBuffersWithElementsAreRejected) {
  const std::span<float> null_values(static_cast<float*>(nullptr), n * dim);
  const std::span<bool> null_found(static_cast<bool*>(nullptr), n);
  const std::span<std::uint64_t> null_scores(static_cast<std::uint64_t*>(nullptr), n);
  expect_invalid([&] { lru().find(keys_, null_values, found_); }, "values", "null");
  expect_invalid([&] { lru().find(keys_, values_, null_found); }, "found", "null");
  expect_invalid([&] { lru().find(keys_, values_, found_, null_scores); }, "scores", "null");
  expect_invalid([&] { lru().contains(keys_, null_found); }, "found", "null");
  expect_invalid([&] { lru().insert_or_assign(keys_, null_values); }, "values", "null");
  expect_invalid([&] { custom().insert_or_assign(keys_, values_, null_scores); }, "scores", "null");
  expect_invalid(
      [&] { lru().insert_and_evict(keys_, values_, std::span<Key>(static_cast<Key*>(nullptr), n), ev_values_); },
      "evicted_keys", "null");
  expect_invalid([&] { lru().insert_and_evict(keys_, values_, ev_keys_, null_values); }, "evicted_values", "null");
  expect_invalid([&] { lru().insert_and_evict(keys_, values_, ev_keys_, ev_values_, null_scores); }, "evicted_scores",
                 "null");
  expect_invalid([&] { lru().find_or_insert(keys_, null_values, found_); }, "values", "null");
  expect_invalid([&] { lru().find_or_insert(keys_, values_, null_found); }, "found", "null");
  expect_invalid([&] { lru().assign(keys_, null_values); }, "values", "null");
  expect_invalid([&] { (void)lru().export_batch(0, n, std::span<Key>(static_cast<Key*>(nullptr), n), values_); },
                 "keys", "null");
  expect_invalid([&] { (void)lru().export_batch(0, n, ev_keys_, null_values); }, "values", "null");
}

TEST_P(ValidationOps, WrongSizesAreRejected) {
  const std::span<float> dim2(values_.data(), n * 2);       // n x dim 2: names the dim passed
  const std::span<float> odd(values_.data(), n * dim - 1);  // not a multiple of n
  expect_invalid([&] { lru().find(keys_, dim2, found_); }, "values", "dim mismatch: that is dim 2");
  expect_invalid([&] { lru().find(keys_, odd, found_); }, "values", "expected 12");
  expect_invalid([&] { lru().insert_or_assign(keys_, dim2); }, "values", "dim");
  expect_invalid([&] { lru().insert_or_assign_async(keys_, odd); }, "values", "dim = 3");
  expect_invalid([&] { lru().find_or_insert(keys_, dim2, found_); }, "values", "dim");
  expect_invalid([&] { lru().assign(keys_, dim2); }, "values", "dim");
  buffer<float> bigger(n * dim + dim);
  expect_invalid([&] { lru().insert_or_assign(keys_, bigger); }, "values", "dim");  // exactly n x dim, not more
  expect_invalid([&] { lru().find(keys_, values_, std::span<bool>(found_.data(), n - 1)); }, "found", "expected 4");
  expect_invalid([&] { lru().contains(keys_, std::span<bool>(found_.data(), n - 1)); }, "found");
  expect_invalid([&] { lru().find_or_insert(keys_, values_, std::span<bool>(found_.data(), n - 1)); }, "found");
  expect_invalid([&] { lru().find(keys_, values_, found_, std::span<std::uint64_t>(scores_.data(), n - 1)); },
                 "scores");
  expect_invalid(
      [&] { custom().insert_or_assign(keys_, values_, std::span<const std::uint64_t>(scores_.data(), n - 1)); },
      "scores");
  expect_invalid([&] { custom().assign(keys_, values_, std::span<const std::uint64_t>(scores_.data(), n - 1)); },
                 "scores");
  expect_invalid([&] { lru().insert_and_evict(keys_, values_, std::span<Key>(ev_keys_.data(), n - 1), ev_values_); },
                 "evicted_keys", "at least 4");
  expect_invalid(
      [&] { lru().insert_and_evict(keys_, values_, ev_keys_, std::span<float>(ev_values_.data(), n * dim - 1)); },
      "evicted_values", "at least 12");
  expect_invalid(
      [&] {
        lru().insert_and_evict(keys_, values_, ev_keys_, ev_values_, std::span<std::uint64_t>(ev_scores_.data(), 1));
      },
      "evicted_scores");
  expect_invalid([&] { (void)lru().export_batch(0, n, std::span<Key>(ev_keys_.data(), n - 1), values_); }, "keys");
  expect_invalid([&] { (void)lru().export_batch(0, n, ev_keys_, std::span<float>(values_.data(), n * dim - 1)); },
                 "values");
  expect_invalid(
      [&] { (void)lru().export_batch(0, n, ev_keys_, values_, std::span<std::uint64_t>(scores_.data(), 1)); },
      "scores");
  expect_invalid([&] { (void)lru().export_batch(lru().capacity() + 1, 1, ev_keys_, values_); }, "offset");
}

TEST_P(ValidationOps, LargerEvictionAndExportBuffersAreAccepted) {
  buffer<Key> k(2 * n);
  buffer<float> v(2 * n * dim);
  buffer<std::uint64_t> s(2 * n);
  buffer<Key> fresh{1000};
  buffer<float> one(dim);
  EXPECT_NO_THROW(lru().insert_and_evict(fresh, one, k, v, s));
  EXPECT_EQ(lru().erase(fresh), 1u);
  lru_clock_ += 2;
  EXPECT_EQ(lru().export_batch(0, n, k, v, s), lru().export_batch(0, n, k, v));
}

TEST_P(ValidationOps, MisalignedBuffersAreRejected) {
  buffer<std::byte> raw(1024);
  std::byte* odd = raw.data() + 1;
  const std::span<float> values(reinterpret_cast<float*>(odd), n * dim);
  const keys_t keys(reinterpret_cast<const Key*>(odd), n);
  const std::span<std::uint64_t> scores(reinterpret_cast<std::uint64_t*>(odd), n);
  expect_invalid([&] { lru().find(keys, values_, found_); }, "keys", "misaligned");
  expect_invalid([&] { lru().erase(keys); }, "keys", "misaligned");
  expect_invalid([&] { lru().find(keys_, values, found_); }, "values", "misaligned");
  expect_invalid([&] { lru().insert_or_assign(keys_, values); }, "values", "misaligned");
  expect_invalid([&] { lru().find(keys_, values_, found_, scores); }, "scores", "misaligned");
  expect_invalid([&] { custom().insert_or_assign(keys_, values_, scores); }, "scores", "misaligned");
  expect_invalid(
      [&] { lru().insert_and_evict(keys_, values_, std::span<Key>(reinterpret_cast<Key*>(odd), n), ev_values_); },
      "evicted_keys", "misaligned");
  expect_invalid([&] { lru().insert_and_evict(keys_, values_, ev_keys_, values); }, "evicted_values", "misaligned");
  expect_invalid([&] { lru().insert_and_evict(keys_, values_, ev_keys_, ev_values_, scores); }, "evicted_scores",
                 "misaligned");
  expect_invalid([&] { (void)lru().export_batch(0, n, ev_keys_, values); }, "values", "misaligned");
}

TEST_P(ValidationOps, ScoresFollowThePolicy) {
  // Caller scores are for policy::custom only...
  expect_invalid([&] { lru().insert_or_assign(keys_, values_, scores_); }, "scores", "policy::custom");
  expect_invalid([&] { lru().insert_and_evict(keys_, values_, ev_keys_, ev_values_, {}, scores_); }, "scores");
  expect_invalid([&] { lru().find_or_insert(keys_, values_, found_, scores_); }, "scores");
  expect_invalid([&] { lru().assign(keys_, values_, scores_); }, "scores");
  // ...which needs them for every write that can insert.
  expect_invalid([&] { custom().insert_or_assign(keys_, values_); }, "scores", "one score per key");
  expect_invalid([&] { custom().insert_or_assign_async(keys_, values_); }, "scores");
  expect_invalid([&] { custom().insert_and_evict(keys_, values_, ev_keys_, ev_values_); }, "scores");
  expect_invalid([&] { custom().find_or_insert(keys_, values_, found_); }, "scores");
  expect_invalid([&] { custom().find_or_insert_async(keys_, values_, found_); }, "scores");
  // An assign without scores keeps the stored ones; an empty custom batch needs none.
  buffer<Key> present{1, 2};
  buffer<float> two(2 * dim);
  EXPECT_EQ(custom().assign(present, two), 2u);
  EXPECT_EQ(custom().insert_or_assign(keys_t{}, std::span<const float>{}).inserted, 0u);
  custom_before_ = belady_test::export_all(custom());
}

TEST_P(ValidationOps, BatchesOverTheKeyLimitAreRejected) {
  // The size is checked before any key is read, so a span claiming 2^32 keys is safe here.
  const keys_t huge(keys_.data(), std::size_t{1} << 32);
  expect_invalid([&] { lru().erase(huge); }, "keys", "2^32");
}

INSTANTIATE_TEST_SUITE_P(Cache, ValidationOps, ::testing::ValuesIn(belady_test::all_backends()),
                         belady_test::backend_param_name);

// Construction.

class ValidationConfig : public ::testing::TestWithParam<backend> {
 protected:
  void SetUp() override { BELADY_SKIP_UNLESS_USABLE(GetParam()); }
  belady::cache_config config(std::size_t capacity, std::size_t d = 1, std::uint32_t bucket = 128) const {
    return {.capacity = capacity, .dim = d, .bucket_size = bucket, .executor = GetParam()};
  }
};

TEST_P(ValidationConfig, BadShapesAreRejected) {
  constexpr std::size_t max = std::numeric_limits<std::size_t>::max();
  expect_invalid([&] { cache_t c(config(0)); }, "capacity", "at least 1");
  expect_invalid([&] { cache_t c(config(max)); }, "capacity");
  expect_invalid([&] { cache_t c(config(max - 64)); }, "capacity");
  expect_invalid([&] { cache_t c(config(std::size_t{1} << 60, std::size_t{1} << 20)); }, "capacity");
  expect_invalid([&] { cache_t c(config(std::size_t{1} << 42, std::size_t{1} << 20, 1024)); }, "capacity",
                 "overflow the address space");
  expect_invalid([&] { cache_t c(config((std::size_t{1} << 32) + 1, 1, 1)); }, "capacity", "2^32 buckets");
  expect_invalid([&] { cache_t c(config(std::size_t{1} << 50, 1, 1024)); }, "capacity", "2^32 buckets");
  expect_invalid([&] { cache_t c(config(64, 0)); }, "dim", "at least 1");
  expect_invalid([&] { cache_t c(config(64, max / 2)); }, "dim", "overflow");
  expect_invalid([&] { belady::cache<Key, std::byte> c(config(4, max / 2)); }, "capacity", "overflow");
  for (const std::uint32_t bucket : {0u, 1025u, 2000u})
    expect_invalid([&] { cache_t c(config(64, 1, bucket)); }, "bucket_size", std::to_string(bucket));
  EXPECT_NO_THROW(cache_t c(config(1, 1, 1)));
  EXPECT_NO_THROW(cache_t c(config(1, 1, 1024)));
}

TEST_P(ValidationConfig, TablesLargerThanMemoryThrowOutOfMemoryWithByteCounts) {
  // 2^42 slots (2^32 buckets of 1024) pass the shape checks; their keys alone need 32 TiB.
  try {
    cache_t c(config(std::size_t{1} << 42, 1, 1024));
    ADD_FAILURE() << "a 32 TiB table was allocated";
  } catch (const belady::out_of_memory& e) {
    EXPECT_GT(e.requested_bytes(), e.available_bytes());
    EXPECT_GT(e.available_bytes(), 0u);
    EXPECT_GE(e.requested_bytes(), std::size_t{1} << 42);
    const std::string what = e.what();
    EXPECT_NE(what.find(std::to_string(e.requested_bytes())), std::string::npos) << what;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "wrong exception: " << e.what();
  }
  // out_of_memory is a std::bad_alloc, so generic handlers see an allocation failure.
  EXPECT_THROW(cache_t c(config(std::size_t{1} << 42, 1, 1024)), std::bad_alloc);
}

INSTANTIATE_TEST_SUITE_P(Cache, ValidationConfig, ::testing::ValuesIn(belady_test::all_backends()),
                         belady_test::backend_param_name);

TEST(ValidationBackend, CudaRequestedWithoutADeviceThrowsBackendUnavailable) {
  if (belady::cuda_backend_available()) GTEST_SKIP() << "a cuda device is available here";
  try {
    cache_t c({.capacity = 64, .dim = 1, .executor = backend::cuda});
    ADD_FAILURE() << "no exception";
  } catch (const belady::backend_unavailable& e) {
    EXPECT_NE(std::string(e.what()).find("cuda"), std::string::npos) << e.what();
  }
}

TEST(ValidationBackend, CudaOnAMissingDeviceThrowsBackendUnavailable) {
  EXPECT_THROW(cache_t c({.capacity = 64, .dim = 1, .executor = backend::cuda, .device = 1 << 20}),
               belady::backend_unavailable);
  // automatic never throws for want of a device: it falls back to the host.
  cache_t c({.capacity = 64, .dim = 1, .executor = backend::automatic, .device = 1 << 20});
  EXPECT_EQ(c.executor(), backend::host);
}

TEST(ValidationBackend, CudaRejectsPageableHostBuffers) {
  BELADY_SKIP_UNLESS_USABLE(backend::cuda);
  cache_t c({.capacity = 64, .dim = 1, .executor = backend::cuda});
  std::vector<Key> keys{1, 2};
  expect_invalid([&] { c.erase(keys); }, "keys", "pageable");
}

TEST(ValidationBackend, StreamViewRejectsIntegerAndNull) {
  static_assert(!std::is_constructible_v<belady::stream_view, int>);
  static_assert(!std::is_constructible_v<belady::stream_view, std::nullptr_t>);
  static_assert(std::is_trivially_copyable_v<belady::stream_view>);
  EXPECT_EQ(belady::stream_view{}.value(), nullptr);
}

}  // namespace
