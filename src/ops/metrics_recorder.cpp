#include "ops/metrics_recorder.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>

namespace belady::ops {
namespace {

constexpr auto relaxed = std::memory_order_relaxed;

// Export bounds of the latency histograms, in microseconds: Prometheus wants a few fixed buckets,
// not the 672 internal ones. 1 us .. 10 s covers a tiny host batch to a huge device batch.
constexpr double export_bounds_us[] = {1,     2,     5,     10,     20,     50,     100,     200,
                                       500,   1e3,   2e3,   5e3,    1e4,    2e4,    5e4,     1e5,
                                       2.5e5, 5e5,   1e6,   2.5e6,  5e6,    1e7};

void add_max(std::atomic<std::uint64_t>& max, std::uint64_t v) noexcept {
  std::uint64_t seen = max.load(relaxed);
  while (v > seen && !max.compare_exchange_weak(seen, v, relaxed)) {
  }
}

}  // namespace

int latency_histogram::index_of(std::uint64_t ns) noexcept {
  constexpr std::uint64_t linear = 1u << sub_bits;
  if (ns < linear) return static_cast<int>(ns);
  const int exponent = std::bit_width(ns) - 1;  // >= sub_bits
  if (exponent > max_exponent) return bucket_count - 1;
  const int sub = static_cast<int>((ns >> (exponent - sub_bits)) & (linear - 1));
  return static_cast<int>(linear) + (exponent - sub_bits) * static_cast<int>(linear) + sub;
}

std::uint64_t latency_histogram::lower_bound(int index) noexcept {
  constexpr int linear = 1 << sub_bits;
  if (index < linear) return static_cast<std::uint64_t>(index);
  const int exponent = (index - linear) / linear + sub_bits;
  const int sub = (index - linear) % linear;
  return static_cast<std::uint64_t>(linear + sub) << (exponent - sub_bits);
}

std::uint64_t latency_histogram::upper_bound(int index) noexcept {
  constexpr int linear = 1 << sub_bits;
  if (index < linear) return static_cast<std::uint64_t>(index) + 1;
  const int exponent = (index - linear) / linear + sub_bits;
  const int sub = (index - linear) % linear;
  return static_cast<std::uint64_t>(linear + sub + 1) << (exponent - sub_bits);
}

void latency_histogram::record(std::uint64_t ns) noexcept {
  counts_[static_cast<std::size_t>(index_of(ns))].fetch_add(1, relaxed);
  count_.fetch_add(1, relaxed);
  sum_ns_.fetch_add(ns, relaxed);
  add_max(max_ns_, ns);
}

latency_summary latency_histogram::summarize() const {
  std::array<std::uint64_t, bucket_count> c;
  std::uint64_t total = 0;
  for (int i = 0; i < bucket_count; ++i) total += c[i] = counts_[i].load(relaxed);
  latency_summary s;
  // The buckets are the source of truth for the count: the separate counter may be a few
  // records ahead of them while calls are being recorded.
  s.count = total;
  s.sum_us = static_cast<double>(sum_ns_.load(relaxed)) / 1e3;
  s.max_us = static_cast<double>(max_ns_.load(relaxed)) / 1e3;
  auto quantile = [&](double q) {
    if (total == 0) return 0.0;
    const auto rank = static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(total)));
    std::uint64_t seen = 0;
    for (int i = 0; i < bucket_count; ++i) {
      seen += c[i];
      if (seen >= std::max<std::uint64_t>(rank, 1)) {
        // The bucket's midpoint: within half a bucket (1/32) of every value in it.
        const double mid = i < (1 << sub_bits)
                               ? static_cast<double>(i)
                               : 0.5 * static_cast<double>(lower_bound(i) + upper_bound(i));
        return std::min(mid / 1e3, s.max_us);
      }
    }
    return s.max_us;
  };
  s.p50_us = quantile(0.50);
  s.p95_us = quantile(0.95);
  s.p99_us = quantile(0.99);
  // Cumulative export buckets: a call counts under a bound when its whole internal bucket lies
  // at or below it, so a count never includes a call that may have been slower than the bound.
  int i = 0;
  std::uint64_t cumulative = 0;
  for (const double bound_us : export_bounds_us) {
    const double bound_ns = bound_us * 1e3;
    while (i < bucket_count && static_cast<double>(upper_bound(i) - 1) <= bound_ns) cumulative += c[i++];
    s.buckets.emplace_back(bound_us, cumulative);
  }
  s.buckets.emplace_back(std::numeric_limits<double>::infinity(), total);
  return s;
}

std::vector<std::uint64_t> latency_histogram::counts() const {
  std::vector<std::uint64_t> c(bucket_count);
  for (int i = 0; i < bucket_count; ++i) c[i] = counts_[i].load(relaxed);
  return c;
}

void second_ring::add(std::int64_t second, const counts& c) noexcept {
  slot& s = ring_[static_cast<std::size_t>(second % slots)];
  std::int64_t seen = s.second.load(std::memory_order_acquire);
  if (seen != second) {
    if (seen > second) return;  // a record from a second already overwritten: too old to count
    if (s.second.compare_exchange_strong(seen, second, std::memory_order_acq_rel)) {
      s.lookups.store(0, relaxed);
      s.hits.store(0, relaxed);
      s.calls.store(0, relaxed);
      s.keys.store(0, relaxed);
    }
  }
  s.lookups.fetch_add(c.lookups, relaxed);
  s.hits.fetch_add(c.hits, relaxed);
  s.calls.fetch_add(c.calls, relaxed);
  s.keys.fetch_add(c.keys, relaxed);
}

second_ring::counts second_ring::sum(std::int64_t now_second, int seconds) const noexcept {
  counts out;
  for (const slot& s : ring_) {
    const std::int64_t sec = s.second.load(std::memory_order_acquire);
    if (sec < 0 || sec > now_second || sec <= now_second - seconds) continue;
    out.lookups += s.lookups.load(relaxed);
    out.hits += s.hits.load(relaxed);
    out.calls += s.calls.load(relaxed);
    out.keys += s.keys.load(relaxed);
  }
  return out;
}

void metrics_recorder::record_call(operation op, std::uint64_t keys, clock::time_point started,
                                   clock::time_point ended, std::uint64_t lookups, std::uint64_t hits) noexcept {
  const clock::duration took = ended - started;
  per_operation& o = ops_[static_cast<std::size_t>(op)];
  o.calls.fetch_add(1, relaxed);
  o.keys.fetch_add(keys, relaxed);
  o.latency.record(static_cast<std::uint64_t>(std::max<std::int64_t>(
      0, std::chrono::duration_cast<std::chrono::nanoseconds>(took).count())));
  if (lookups != 0) {
    lookups_.fetch_add(lookups, relaxed);
    hits_.fetch_add(hits, relaxed);
  }
  seconds_.add(second_of(ended), {lookups, hits, 1, keys});
}

void metrics_recorder::record_error(operation op) noexcept {
  ops_[static_cast<std::size_t>(op)].errors.fetch_add(1, relaxed);
}

void metrics_recorder::record_writes(std::uint64_t inserted, std::uint64_t assigned, std::uint64_t evicted,
                                     std::uint64_t refused, std::uint64_t erased) noexcept {
  if (inserted) inserted_.fetch_add(inserted, relaxed);
  if (assigned) assigned_.fetch_add(assigned, relaxed);
  if (evicted) evicted_.fetch_add(evicted, relaxed);
  if (refused) refused_.fetch_add(refused, relaxed);
  if (erased) erased_.fetch_add(erased, relaxed);
}

void metrics_recorder::fill(metrics_snapshot& m) const {
  const auto now = clock::now();
  const double uptime = std::chrono::duration<double>(now - started_).count();
  m.uptime_seconds = uptime;
  m.lookups = lookups_.load(relaxed);
  m.hits = hits_.load(relaxed);
  m.hit_ratio = m.lookups == 0 ? 0.0 : static_cast<double>(m.hits) / static_cast<double>(m.lookups);
  m.inserted = inserted_.load(relaxed);
  m.assigned = assigned_.load(relaxed);
  m.evicted = evicted_.load(relaxed);
  m.refused = refused_.load(relaxed);
  m.erased = erased_.load(relaxed);

  const std::int64_t now_second = second_of(now);
  // The current second is partly elapsed: a window of w seconds covers w - 1 whole seconds plus
  // the elapsed part of this one, and never more than the uptime.
  const double this_second = uptime - static_cast<double>(now_second);
  m.windows.clear();
  for (const int w : {1, 10, 60}) {
    const second_ring::counts c = seconds_.sum(now_second, w);
    window_metrics wm;
    wm.seconds = w;
    wm.covered_seconds = std::max(1e-3, std::min<double>(w, std::min(uptime, (w - 1) + this_second)));
    wm.lookups = c.lookups;
    wm.hits = c.hits;
    wm.hit_ratio = c.lookups == 0 ? 0.0 : static_cast<double>(c.hits) / static_cast<double>(c.lookups);
    wm.calls = c.calls;
    wm.keys = c.keys;
    wm.calls_per_second = static_cast<double>(c.calls) / wm.covered_seconds;
    wm.keys_per_second = static_cast<double>(c.keys) / wm.covered_seconds;
    if (w == 10) {
      m.calls_per_second = wm.calls_per_second;
      m.keys_per_second = wm.keys_per_second;
    }
    m.windows.push_back(wm);
  }

  m.operations.clear();
  for (int i = 0; i < operation_count; ++i) {
    const per_operation& o = ops_[static_cast<std::size_t>(i)];
    operation_metrics om;
    om.op = static_cast<operation>(i);
    om.calls = o.calls.load(relaxed);
    om.keys = o.keys.load(relaxed);
    om.errors = o.errors.load(relaxed);
    om.latency = o.latency.summarize();
    m.operations.push_back(std::move(om));
  }
}

std::array<std::vector<std::uint64_t>, operation_count> metrics_recorder::fine_counts() const {
  std::array<std::vector<std::uint64_t>, operation_count> out;
  for (int i = 0; i < operation_count; ++i) out[i] = ops_[static_cast<std::size_t>(i)].latency.counts();
  return out;
}

}  // namespace belady::ops
