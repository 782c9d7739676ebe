// Long seeded random sequences of every operation, applied to the cache and to the sequential
// reference model; every result and the whole table are compared after every batch.
#include "support/differential.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <tuple>

namespace {

using belady::backend;
using belady::policy;
using belady_test::differential_options;
using belady_test::differential_report;
using belady_test::model_fault;
using belady_test::run_differential;
using belady_test::scaled;

/// The sequence must have exercised what it is meant to test: exact where the policy fixes it.
void expect_exercised(const differential_report& r, const differential_options& o) {
  const auto& s = r.stats;
  if (std::getenv("BELADY_TEST_VERBOSE") != nullptr)
    std::printf(
        "batches %zu keys %zu repeats %zu hits %zu inserted %zu assigned %zu evicted %zu refused %zu "
        "erased %zu clears %zu empty %zu async %zu unspecified %zu\n",
        s.batches, s.keys, s.repeats, s.hits, s.inserted, s.assigned, s.evicted, s.refused, s.erased, s.clears,
        s.empty_batches, s.async_calls, s.unspecified);
  EXPECT_GT(s.hits, s.batches / 4) << "too few hits";
  EXPECT_GT(s.evicted, s.batches / 8) << "too few evictions";
  EXPECT_GT(s.erased, 0u);
  EXPECT_GT(s.assigned, 0u);
  EXPECT_GT(s.async_calls, 0u);
  if (o.batches >= 1000) {
    EXPECT_GT(s.clears, 0u);
    EXPECT_GT(s.empty_batches, 0u);
  }
  if (o.distinct_buckets) {
    EXPECT_EQ(s.repeats, 0u);
  } else {
    EXPECT_GT(s.repeats, s.batches) << "too few keys repeated within a batch";
  }
  // lru and fifo newcomers score `now`, at least every resident: never refused.
  if (o.policy == policy::lru || o.policy == policy::fifo) {
    EXPECT_EQ(s.refused, 0u);
  } else {
    EXPECT_GT(s.refused, 0u) << "admission never refused anything";
  }
}

using param = std::tuple<backend, policy, std::uint32_t>;

class Differential : public ::testing::TestWithParam<param> {
 protected:
  differential_options options(std::uint64_t seed) const {
    const auto [b, p, bucket] = GetParam();
    differential_options o;
    o.backend = b;
    o.policy = p;
    o.bucket_size = bucket;
    o.batches = scaled(2000, 150);
    o.seed = seed * 100 + static_cast<std::uint64_t>(p) * 10 + bucket;
    // A parallel executor orders a batch's keys arbitrarily; keys in distinct buckets make the
    // batch order-independent, so the sequential model still predicts it exactly.
    o.distinct_buckets = b == backend::cuda;
    return o;
  }
};

TEST_P(Differential, FloatDim3MatchesModel) {
  BELADY_SKIP_UNLESS_USABLE(std::get<0>(GetParam()));
  const auto o = options(1);
  const auto r = run_differential<std::uint64_t, float>(o);
  ASSERT_FALSE(r.mismatch.has_value()) << *r.mismatch;
  expect_exercised(r, o);
}

TEST_P(Differential, BytesDim5MatchesModel) {
  BELADY_SKIP_UNLESS_USABLE(std::get<0>(GetParam()));
  auto o = options(2);
  o.dim = 5;
  const auto r = run_differential<std::uint32_t, std::byte>(o);
  ASSERT_FALSE(r.mismatch.has_value()) << *r.mismatch;
  expect_exercised(r, o);
}

TEST_P(Differential, Int8Dim5UnevenCapacityMatchesModel) {
  BELADY_SKIP_UNLESS_USABLE(std::get<0>(GetParam()));
  auto o = options(3);
  o.dim = 5;
  o.capacity = 250;  // rounded up to whole buckets
  o.batches = scaled(700, 100);
  const auto r = run_differential<std::uint64_t, std::int8_t>(o);
  ASSERT_FALSE(r.mismatch.has_value()) << *r.mismatch;
  expect_exercised(r, o);
}

INSTANTIATE_TEST_SUITE_P(Cache, Differential,
                         ::testing::Combine(::testing::Values(backend::host, backend::cuda),
                                            ::testing::Values(policy::lru, policy::lfu, policy::fifo, policy::custom),
                                            ::testing::Values(8u, 16u)),
                         [](const ::testing::TestParamInfo<param>& info) {
                           return std::string(belady::to_string(std::get<0>(info.param))) + "_" +
                                  std::string(belady::to_string(std::get<1>(info.param))) + "_bucket" +
                                  std::to_string(std::get<2>(info.param));
                         });

/// Batches larger than the host executor's grain (256) run on several pool threads; with keys in
/// distinct buckets the outcome is still exactly the model's.
class DifferentialParallel : public ::testing::TestWithParam<backend> {};

TEST_P(DifferentialParallel, LargeDistinctBucketBatchesMatchModel) {
  BELADY_SKIP_UNLESS_USABLE(GetParam());
  for (const policy p : {policy::lru, policy::lfu, policy::custom}) {
    SCOPED_TRACE(std::string(belady::to_string(p)));
    differential_options o;
    o.backend = GetParam();
    o.policy = p;
    o.host_threads = 4;
    o.capacity = 4096;
    o.bucket_size = 4;  // 1024 buckets: batches of up to 1000 keys in distinct buckets
    o.key_range = 12000;
    o.max_batch = 1000;
    o.batches = scaled(150, 40);  // the first ~10 batches only fill the table
    o.slot_check_every = 75;
    o.distinct_buckets = true;
    o.seed = 77 + static_cast<std::uint64_t>(p);
    const auto r = run_differential<std::uint64_t, float>(o);
    ASSERT_FALSE(r.mismatch.has_value()) << *r.mismatch;
    if (std::getenv("BELADY_TEST_VERBOSE") != nullptr)
      std::printf("batches %zu evicted %zu hits %zu\n", o.batches, r.stats.evicted, r.stats.hits);
    // Measured: 30-100 evictions and 45-55 hits per batch once the table is full (from 40
    // batches on, for every policy here).
    EXPECT_GT(r.stats.evicted, 10u * o.batches);
    EXPECT_GT(r.stats.hits, 10u * o.batches);
  }
}

INSTANTIATE_TEST_SUITE_P(Cache, DifferentialParallel, ::testing::ValuesIn(belady_test::all_backends()),
                         belady_test::backend_param_name);

// Test the test: each deliberate model fault must be caught by a short differential run.
struct fault_case {
  model_fault fault;
  policy p;
  const char* name;
  friend void PrintTo(const fault_case& c, std::ostream* os) { *os << c.name; }
};

class DifferentialCatchesFaults : public ::testing::TestWithParam<fault_case> {};

TEST_P(DifferentialCatchesFaults, WrongModelIsDetected) {
  differential_options o;
  o.policy = GetParam().p;
  o.fault = GetParam().fault;
  o.batches = 400;  // not scaled: the fault must show up within this many batches
  o.seed = 5;
  const auto r = run_differential<std::uint64_t, float>(o);
  ASSERT_TRUE(r.mismatch.has_value()) << "a model with fault " << GetParam().name << " went unnoticed";
  SUCCEED() << *r.mismatch;
}

INSTANTIATE_TEST_SUITE_P(
    Model, DifferentialCatchesFaults,
    ::testing::Values(fault_case{model_fault::victim_tie_to_highest_slot, policy::custom, "victim_tie_custom"},
                      fault_case{model_fault::victim_tie_to_highest_slot, policy::lru, "victim_tie_lru"},
                      fault_case{model_fault::lfu_hits_do_not_count, policy::lfu, "lfu_hits_do_not_count"},
                      fault_case{model_fault::fifo_hits_refresh, policy::fifo, "fifo_hits_refresh"},
                      fault_case{model_fault::contains_touches, policy::lru, "contains_touches"},
                      fault_case{model_fault::contains_does_not_tick, policy::lru, "contains_does_not_tick"},
                      fault_case{model_fault::no_admission, policy::custom, "no_admission_custom"},
                      fault_case{model_fault::no_admission, policy::lfu, "no_admission_lfu"},
                      fault_case{model_fault::find_or_insert_last_wins, policy::fifo, "find_or_insert_last_wins"},
                      fault_case{model_fault::free_slot_highest, policy::lru, "free_slot_highest"}),
    [](const ::testing::TestParamInfo<fault_case>& info) { return std::string(info.param.name); });

}  // namespace
