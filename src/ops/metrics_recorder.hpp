#pragma once
// Lock-free recording of per-call figures (latency histograms, counters, per-second windows) for
// cache::metrics(). One record per batch call, never per key: a few relaxed atomic adds.
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <vector>

#include "belady/metrics.hpp"

namespace belady::ops {

/// Log-linear histogram of nanoseconds: values below 16 exactly, then 16 sub-buckets per power of
/// two (relative bucket width 1/16), up to 2^44 ns (~4.9 hours); beyond counts in the last bucket.
class latency_histogram {
 public:
  static constexpr int sub_bits = 4;
  static constexpr int max_exponent = 44;
  static constexpr int bucket_count = (max_exponent - sub_bits + 1) * (1 << sub_bits) + (1 << sub_bits);

  void record(std::uint64_t ns) noexcept;
  [[nodiscard]] latency_summary summarize() const;
  /// The internal bucket counts (bucket_count of them), for judging latency between two moments.
  [[nodiscard]] std::vector<std::uint64_t> counts() const;

  /// Bucket index of a value and the bucket's [lower, upper) bounds, for tests.
  [[nodiscard]] static int index_of(std::uint64_t ns) noexcept;
  [[nodiscard]] static std::uint64_t lower_bound(int index) noexcept;
  [[nodiscard]] static std::uint64_t upper_bound(int index) noexcept;

 private:
  std::array<std::atomic<std::uint64_t>, bucket_count> counts_{};
  std::atomic<std::uint64_t> count_{0}, sum_ns_{0}, max_ns_{0};
};

/// Counts per wall-clock second in a ring of 64 seconds, so 1, 10 and 60 s windows can be summed.
/// A slot is reset by the first record of a new second; a record racing with that reset may be
/// lost (at most a few calls per second boundary): windows are approximate, totals are not.
class second_ring {
 public:
  struct counts {
    std::uint64_t lookups = 0, hits = 0, calls = 0, keys = 0;
  };
  void add(std::int64_t second, const counts& c) noexcept;
  /// Sums the seconds in (now_second - seconds, now_second].
  [[nodiscard]] counts sum(std::int64_t now_second, int seconds) const noexcept;

 private:
  struct slot {
    std::atomic<std::int64_t> second{-1};
    std::atomic<std::uint64_t> lookups{0}, hits{0}, calls{0}, keys{0};
  };
  static constexpr int slots = 64;
  std::array<slot, slots> ring_{};
};

/// What cache::metrics() reads besides the table and the learner.
class metrics_recorder {
 public:
  using clock = std::chrono::steady_clock;

  metrics_recorder() : started_(clock::now()) {}

  /// One finished call: its operation, keys, start and end, and (synchronous lookups) hits. The
  /// caller's clock readings are reused: a clock read costs more than all the counting.
  void record_call(operation op, std::uint64_t keys, clock::time_point started, clock::time_point ended,
                   std::uint64_t lookups, std::uint64_t hits) noexcept;
  void record_error(operation op) noexcept;
  void record_writes(std::uint64_t inserted, std::uint64_t assigned, std::uint64_t evicted, std::uint64_t refused,
                     std::uint64_t erased) noexcept;

  /// Fills the recorder's part of `m`: lookups, windows, writes, operations, uptime.
  void fill(metrics_snapshot& m) const;

  /// Each operation's internal latency bucket counts (see latency_histogram::counts).
  [[nodiscard]] std::array<std::vector<std::uint64_t>, operation_count> fine_counts() const;

  [[nodiscard]] clock::time_point started() const noexcept { return started_; }

 private:
  struct per_operation {
    std::atomic<std::uint64_t> calls{0}, keys{0}, errors{0};
    latency_histogram latency;
  };

  [[nodiscard]] std::int64_t second_of(clock::time_point t) const noexcept {
    return std::chrono::duration_cast<std::chrono::seconds>(t - started_).count();
  }

  const clock::time_point started_;
  std::array<per_operation, operation_count> ops_{};
  std::atomic<std::uint64_t> lookups_{0}, hits_{0};
  std::atomic<std::uint64_t> inserted_{0}, assigned_{0}, evicted_{0}, refused_{0}, erased_{0};
  second_ring seconds_;
};

}  // namespace belady::ops
